// NEGOTIATE (MS-SMB2 3.3.5.3, 3.3.5.4) and the SMB1 wildcard answer.
#include <algorithm>
#include <chrono>

#include "smbd/auth/authenticator.hh"
#include "smbd/conf/log.hh"
#include "smbd/proto/negotiate.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/negotiate_policy.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

std::uint64_t nt_time_now() {
  using namespace std::chrono;
  auto since_1970 =
      duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count() / 100;
  return static_cast<std::uint64_t>(since_1970) + 116444736000000000ull;
}

void fill_common(NegotiateResponse& r, const Connection& connection, std::uint16_t dialect,
                 std::uint16_t security_mode) {
  const Worker& worker = connection.worker();
  r.security_mode = security_mode;
  r.dialect_revision = dialect;
  r.server_guid = worker.config().server_guid;
  // MS-SMB2 3.3.5.4: 2.0.2 is limited to 64 KiB; large MTU needs 2.1 or later.
  std::uint32_t limit = dialect == 0x0202 ? 65536u : 0xFFFFFFFFu;
  r.max_transact_size =
      static_cast<std::uint32_t>(std::min<std::size_t>(connection.max_transact_size(), limit));
  r.max_read_size =
      static_cast<std::uint32_t>(std::min<std::size_t>(connection.max_read_size(), limit));
  r.max_write_size =
      static_cast<std::uint32_t>(std::min<std::size_t>(connection.max_write_size(), limit));
  r.system_time = nt_time_now();
  r.server_start_time = 0;
  r.security_buffer = auth::ServerAuthenticator::negotiate_hint_token(
      !worker.config().conf.global.kerberos_keytab().empty());
}

}  // namespace

Bytes build_smb1_negotiate_response(Connection& connection, std::uint16_t dialect) {
  NegotiateResponse r;
  fill_common(r, connection, dialect, server_security_mode(connection.worker()));
  r.capabilities = 0;
  Header h;
  h.command = Command::NEGOTIATE;
  h.flags = kFlagServerToRedir;
  h.credit_request_response = 1;
  return encode_message(h, r);
}

void handle_negotiate(const RequestPtr& req) {
  Connection* c = req->connection();
  auto& n = c->negotiated();
  // MS-SMB2 3.3.5.3.1: a second NEGOTIATE on a connection is a protocol error.
  if (n.done) {
    Response r;
    r.status = NtStatus::INVALID_PARAMETER;
    r.disconnect = true;
    req->complete(std::move(r));
    return;
  }
  NegotiateRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS || request.dialects.empty()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  Worker& worker = req->worker;
  auto choice = choose_negotiation(worker.config().conf.global, request);
  if (!choice.status_ok) {
    log::notice(c->peer().c_str(), "negotiate refused: %s", choice.reason.c_str());
    Response r;
    r.status = choice.status;
    r.disconnect = choice.status == NtStatus::NOT_SUPPORTED;
    req->complete(std::move(r));
    return;
  }

  auto answer = [req, request, choice]() {
    Connection* conn = req->connection();
    if (conn == nullptr) return;
    auto& neg = conn->negotiated();
    Worker& w = req->worker;
    neg.done = true;
    neg.dialect = choice.dialect;
    neg.client_capabilities = request.capabilities;
    neg.client_security_mode = request.security_mode;
    neg.client_guid = request.client_guid;
    neg.client_dialects = request.dialects;
    neg.cipher = choice.cipher;
    neg.signing_algorithm = choice.signing_algorithm;
    neg.server_security_mode = server_security_mode(w);
    neg.server_capabilities = server_capabilities(w, choice.dialect, request.capabilities);

    NegotiateResponse r;
    fill_common(r, *conn, choice.dialect, neg.server_security_mode);
    r.capabilities = neg.server_capabilities;
    if (choice.dialect == 0x0311)
      add_negotiate_contexts(r, request, choice,
                             w.config().conf.global.smb_encrypt != conf::Encrypt::OFF);
    Response response;
    response.body = encode_body(r);
    response.has_body = true;
    if (choice.dialect == 0x0311) {
      neg.preauth = crypto::PreauthHash();
      neg.preauth.update(req->pdu);
      std::uint64_t connection_id = req->connection_id;
      Worker* worker_ptr = &req->worker;
      response.after_encode = [worker_ptr, connection_id](ByteSpan element) {
        if (Connection* cc = worker_ptr->connection(connection_id))
          cc->negotiated().preauth.update(element);
      };
    }
    log::info(conn->peer().c_str(), "negotiated dialect %s", dialect_name(choice.dialect));
    req->complete(std::move(response));
  };

  // MS-SMB2 3.3.5.4: a client offering more than 2.0.2 names itself by ClientGuid; all its
  // channels are served by one worker.
  bool has_guid = std::any_of(request.client_guid.begin(), request.client_guid.end(),
                              [](std::uint8_t b) { return b != 0; });
  if (!has_guid || choice.dialect == 0x0202) {
    answer();
    return;
  }
  worker.claim_client(request.client_guid, [req, answer, guid = request.client_guid](bool granted) {
    Connection* conn = req->connection();
    if (conn == nullptr) return;
    if (granted) {
      answer();
      return;
    }
    conn->negotiated().client_guid = guid;
    conn->hand_off(Bytes(req->message->begin(), req->message->end()));
  });
}

}  // namespace smb::server
