// SESSION_SETUP (MS-SMB2 3.3.5.5), with session binding (3.3.5.5.2).
#include <strings.h>

#include "smbd/conf/identity.hh"
#include "smbd/conf/log.hh"
#include "smbd/crypto/session_keys.hh"
#include "smbd/proto/logoff.hh"
#include "smbd/proto/session_setup.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/vfs/nt_token.hh"
#include "smbd/worker/logon_delay.hh"
#include "smbd/worker/negotiate_policy.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

std::unique_ptr<auth::ServerAuthenticator> make_authenticator(Worker& worker) {
  const auto& g = worker.config().conf.global;
  auth::ServerIdentity identity;
  identity.netbios_name = g.netbios_name;
  identity.netbios_domain = g.workgroup;
  identity.dns_computer_name = g.netbios_name;
  identity.dns_domain_name = g.workgroup;
  std::shared_ptr<const conf::UserDb> users = worker.config().users;
  std::shared_ptr<const conf::UsernameMap> username_map = worker.config().username_map;
  bool null_passwords = g.null_passwords;
  auto authenticator = std::make_unique<auth::ServerAuthenticator>(
      identity,
      [users, username_map, null_passwords](
          std::string_view user, std::string_view) -> std::optional<auth::UserRecord> {
        if (!users) return std::nullopt;
        auto found = users->lookup(username_map ? username_map->map(user) : std::string(user));
        if (!found) return std::nullopt;
        auth::UserRecord stored;
        stored.nt_hash = found->nt_hash;
        // An account without a password (flag N) is refused unless `null passwords`.
        stored.disabled = !conf::may_log_on(*found, null_passwords);
        return stored;
      });
  if (std::string keytab = g.kerberos_keytab(); !keytab.empty())
    authenticator->offer_kerberos({keytab, g.realm});
  return authenticator;
}

constexpr std::size_t kMaxChannelsPerSession = 32;

// When a session authenticated by `step` expires: a Kerberos ticket's end; never else.
std::optional<std::chrono::steady_clock::time_point> ticket_end(const auth::AuthStep& step) {
  if (!step.kerberos || step.lifetime_seconds < 0) return std::nullopt;
  return std::chrono::steady_clock::now() + std::chrono::seconds(step.lifetime_seconds);
}

// A session whose authentication failed goes with everything it holds: one being set up,
// or an established one whose re-authentication failed, whose opens are closed as LOGOFF
// closes them (delete on close included).
void end_session(ClientState& client, std::uint64_t session_id) {
  client.close_opens_of(session_id, 0);
  client.remove_session(session_id);
}

// Answers a failed logon with LOGON_FAILURE once its delay has passed (logon_delay.hh):
// counted for the connection and, through the master, for the source address. The loop
// goes on serving meanwhile.
void answer_failed_logon(const RequestPtr& req, const std::string& user) {
  Connection* c = req->connection();
  Worker* worker = &req->worker;
  std::uint64_t connection_id = c->id();
  auto answer = [req, worker, connection_id, user](unsigned address_failures) {
    Connection* connection = worker->connection(connection_id);
    if (connection == nullptr) return;  // nobody left to answer
    auto delay = connection->pace_failed_logon(address_failures);
    if (delay.count() == 0) {
      req->reply(NtStatus::LOGON_FAILURE);
      return;
    }
    log::info(connection->peer().c_str(),
              "failed logon for user '%s' answered after %lld ms (%u recent failures "
              "from the address)",
              user.c_str(), static_cast<long long>(delay.count()), address_failures);
    worker->after(delay, [req] { req->reply(NtStatus::LOGON_FAILURE); });
  };
  worker->report_failed_logon(std::string(peer_host(c->peer())), std::move(answer));
}

crypto::SigningAlgorithm connection_signing_algorithm(const NegotiatedState& n) {
  return n.dialect >= 0x0300 ? n.signing_algorithm : crypto::SigningAlgorithm::HMAC_SHA256;
}

// An intermediate SESSION_SETUP answer; for 3.1.1 `fold` takes it, as sent, into the
// preauth integrity hash of the exchange (MS-SMB2 3.3.5.5).
Response more_processing(std::uint64_t session_id, const SessionSetupResponse& response,
                         std::uint16_t dialect, std::function<void(ByteSpan)> fold) {
  Response out;
  out.session_id_override = session_id;
  out.status = NtStatus::MORE_PROCESSING_REQUIRED;
  out.body = encode_body(response);
  out.has_body = true;
  if (dialect == 0x0311) out.after_encode = std::move(fold);
  return out;
}

// The POSIX identity a session acts as (docs/security.md): a user's from the smbpasswd
// file and NSS, the guest account's for guest and anonymous sessions.
std::optional<PosixIdentity> session_identity(Worker& worker, const Session& session,
                                              std::string& why) {
  if (session.anonymous || session.guest)
    return conf::guest_identity(worker.config().conf.global, why);
  auto found = worker.config().users ? worker.config().users->lookup(session.user) : std::nullopt;
  // A Kerberos principal of the realm is the Unix account of its name; an smbpasswd
  // entry of that name, when there is one, gives the uid and may disable the account.
  if (session.kerberos && !found) {
    std::string error;
    auto account = conf::unix_account_by_name(session.user, error);
    if (!account) {
      why = error.empty() ? "no Unix account of that name (Kerberos principal " + session.user +
                                "@" + session.domain + ")"
                          : error;
      return std::nullopt;
    }
    return conf::identity_of_account(*account, why);
  }
  if (found && session.kerberos && found->disabled) {
    why = "the account is disabled in the smbpasswd file";
    return std::nullopt;
  }
  if (!found) {
    why = "not in the smbpasswd file";
    return std::nullopt;
  }
  return conf::user_identity(*found, why);
}

// Fills in what a session gets once authentication succeeded (MS-SMB2 3.3.5.5.3).
// A session re-authenticated as anonymous, or back as its user: its identity, and that
// of each of its tree connects (recomputed as a tree connect by that user computes it),
// become the new one's. False when there is none to become (logged).
bool reidentify(Worker& worker, Connection& connection, Session& session, bool anonymous) {
  session.anonymous = anonymous;
  std::string why;
  auto identity = session_identity(worker, session, why);
  if (!identity) {
    log::warning(connection.peer().c_str(), "re-authentication of %s refused: %s",
                 session.user.c_str(), why.c_str());
    return false;
  }
  session.identity = credentials::can_switch()
                         ? std::make_shared<const PosixIdentity>(std::move(*identity))
                         : credentials::process_identity();
  const auto& conf = worker.config().conf;
  for (auto& [id, tree] : session.trees) {
    const conf::Share* share = tree.is_ipc ? nullptr : conf.find_share(tree.share_name);
    std::optional<PosixIdentity> on_share;
    const std::string& user =
        session.anonymous || session.guest ? conf.global.guest_account : session.user;
    if (share != nullptr) on_share = conf::share_identity(*session.identity, user, *share, why);
    // A share the new user may not act on (force user refused): its requests run as the
    // session's own identity, which the file system gives no more than that user.
    tree.identity = on_share && credentials::can_switch()
                        ? std::make_shared<const PosixIdentity>(std::move(*on_share))
                        : session.identity;
    if (tree.nt_token)
      tree.nt_token = std::make_shared<const vfs::NtToken>(vfs::make_nt_token(
          tree.identity->uid, tree.identity->gid, tree.identity->groups,
          session.anonymous ? vfs::LogonKind::anonymous
          : session.guest   ? vfs::LogonKind::guest
                            : vfs::LogonKind::user));
  }
  log::info(connection.peer().c_str(), "session of %s re-authenticated%s", session.user.c_str(),
            session.anonymous ? " as anonymous" : "");
  return true;
}

NtStatus establish(Worker& worker, Connection& connection, Session& session,
                   const SessionSetupRequest& request, const auth::AuthStep& step,
                   std::uint16_t& session_flags) {
  const auto& g = worker.config().conf.global;
  const auto& n = connection.negotiated();
  session_flags = 0;
  if (step.anonymous) {
    session.anonymous = true;
    session_flags |= kSessionFlagIsNull;
  } else {
    session.user = worker.config().unix_name(step.user);
    session.domain = step.domain;
    session.kerberos = step.kerberos;
  }
  session.expires_at = ticket_end(step);
  if (session.guest) session_flags |= kSessionFlagIsGuest;
  // A user without a POSIX identity cannot log on: nothing could run as it. The server's
  // accounts do not fit its Unix users: a warning, as Samba logs it at level 0.
  std::string why;
  auto identity = session_identity(worker, session, why);
  if (!identity) {
    log::warning(connection.peer().c_str(), "%s cannot log on: %s",
                 session.anonymous ? "anonymous"
                 : session.guest   ? "guest"
                                   : ("user '" + session.user + "'").c_str(),
                 why.c_str());
    return NtStatus::LOGON_FAILURE;
  }
  // A server that did not start as root cannot act as anyone but itself.
  session.identity = credentials::can_switch()
                         ? std::make_shared<const PosixIdentity>(std::move(*identity))
                         : credentials::process_identity();

  // Session.SessionKey is the first 16 bytes of the GSS key; the whole key (Kerberos with
  // an AES-256 ticket: 32 bytes) derives the 3.1.1 AES-256 cipher keys (MS-SMB2 3.3.5.5.3).
  session.session_key = step.session_key;
  if (session.session_key.size() > 16) session.session_key.resize(16);
  session.dialect = n.dialect;
  bool can_sign = !session.anonymous && !session.guest && !session.session_key.empty();
  session.signing_required = can_sign && (g.server_signing == conf::Signing::MANDATORY ||
                                          (request.security_mode & kNegotiateSigningRequired) != 0);

  crypto::SessionKeys keys;
  if (can_sign) {
    keys = crypto::derive_session_keys(n.dialect, crypto::Role::Server, step.session_key,
                                       n.cipher.value_or(crypto::Cipher::AES_128_CCM),
                                       session.preauth.value());
  }
  session.application_key = keys.application_key;

  // Encryption (MS-SMB2 3.3.5.5.3): required or desired by the configuration.
  bool client_can_encrypt = can_sign && n.dialect >= 0x0300 && n.cipher.has_value();
  if (client_can_encrypt) {
    session.encryptor = std::make_unique<crypto::Encryptor>(*n.cipher, keys.encrypt_key);
    session.decryptor = std::make_unique<crypto::Decryptor>(*n.cipher, keys.decrypt_key);
  }
  if (g.smb_encrypt == conf::Encrypt::REQUIRED) {
    if (!client_can_encrypt) return NtStatus::ACCESS_DENIED;
    session.encrypt_data = true;
  } else if (g.smb_encrypt == conf::Encrypt::DESIRED && client_can_encrypt) {
    session.encrypt_data = true;
  }
  if (session.encrypt_data) session_flags |= kSessionFlagEncryptData;

  session.cipher = n.cipher;
  session.signing_algorithm = connection_signing_algorithm(n);
  if (can_sign) {
    ByteSpan signing_key =
        n.dialect >= 0x0300 ? ByteSpan(keys.signing_key) : ByteSpan(session.session_key);
    session.session_signer =
        std::make_unique<crypto::Signer>(session.signing_algorithm, signing_key);
    SessionChannel channel;
    channel.connection_id = connection.id();
    channel.signer = std::make_unique<crypto::Signer>(session.signing_algorithm, signing_key);
    session.channels[connection.id()] = std::move(channel);
  } else {
    SessionChannel channel;
    channel.connection_id = connection.id();
    session.channels[connection.id()] = std::move(channel);
  }
  session.state = Session::State::VALID;
  connection.authenticated(!session.anonymous);
  worker.announce_session(session);
  return NtStatus::SUCCESS;
}

// Why a connection may not bind to a session (MS-SMB2 3.3.5.5.2), in the order Windows
// checks: the signing algorithms must agree where either side uses AES-GMAC, the
// connection must speak 3.x with multi-channel enabled, the request must be signed, and
// dialect and cipher must be those the session was set up with.
NtStatus binding_refusal(Worker& worker, Connection& connection, const SessionFacts& session,
                         const Header& header) {
  const auto& n = connection.negotiated();
  crypto::SigningAlgorithm mine = connection_signing_algorithm(n);
  constexpr auto gmac = crypto::SigningAlgorithm::AES_GMAC;
  if (session.signing_algorithm == gmac && mine != gmac) return NtStatus::REQUEST_OUT_OF_SEQUENCE;
  if (mine == gmac && session.signing_algorithm != gmac) return NtStatus::NOT_SUPPORTED;
  if (n.dialect < 0x0300 || !worker.config().conf.global.server_multi_channel_support)
    return NtStatus::REQUEST_NOT_ACCEPTED;
  if ((header.flags & kFlagSigned) == 0) return NtStatus::INVALID_PARAMETER;
  if (session.dialect != n.dialect || session.cipher != n.cipher)
    return NtStatus::INVALID_PARAMETER;
  if (!session.valid) return NtStatus::REQUEST_NOT_ACCEPTED;
  // A guest or anonymous session has no key to prove the binding with.
  if (!session.keyed) return NtStatus::NOT_SUPPORTED;
  return NtStatus::SUCCESS;
}

// The same checks for a local session, plus what only the session's own worker knows.
NtStatus local_binding_refusal(Worker& worker, Connection& connection, const Session& session,
                               const Header& header) {
  NtStatus refusal = binding_refusal(worker, connection, facts_of(session), header);
  if (refusal != NtStatus::SUCCESS) return refusal;
  if (session.channels.count(connection.id()) != 0) return NtStatus::REQUEST_NOT_ACCEPTED;
  // Windows serves at most 32 channels per session; clients expect the same bound.
  if (session.channels.size() + session.bindings.size() >= kMaxChannelsPerSession)
    return NtStatus::INSUFFICIENT_RESOURCES;
  return NtStatus::SUCCESS;
}

// A binding request for a session of another client (another ClientGUID, so another
// worker): it gets the refusal Windows would give; when nothing refuses it, binding
// across clients is not served (REQUEST_NOT_ACCEPTED, as Samba answers it). The request
// cannot be verified without the session's key, so only what an unsigned request may
// learn anyway is revealed: the same statuses come before the signature check.
void refuse_foreign_binding(const RequestPtr& req) {
  std::uint64_t connection_id = req->connection_id;
  Worker* worker = &req->worker;
  worker->query_session(
      req->header.session_id, [req, worker, connection_id](std::optional<SessionFacts> facts) {
        Connection* c = worker->connection(connection_id);
        if (c == nullptr) return;
        if (!facts) {
          req->reply(NtStatus::USER_SESSION_DELETED);
          return;
        }
        NtStatus refusal = binding_refusal(*worker, *c, *facts, req->header);
        req->reply(refusal != NtStatus::SUCCESS ? refusal : NtStatus::REQUEST_NOT_ACCEPTED);
      });
}

// Adds this connection as a channel of an established session (MS-SMB2 3.3.5.5.2,
// 3.3.5.5.3): the client authenticates again as the same user, and the new channel
// signs with a key derived from that authentication.
void handle_binding(const RequestPtr& req, const SessionSetupRequest& request) {
  Connection* c = req->connection();
  Worker& worker = req->worker;
  Session* session = req->session;
  if (req->header.session_id == 0) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  if (session == nullptr) {
    refuse_foreign_binding(req);
    return;
  }
  const auto& n = c->negotiated();
  std::uint64_t session_id = session->id;
  std::uint64_t connection_id = c->id();
  auto pending = session->bindings.find(connection_id);
  if (pending == session->bindings.end()) {
    NtStatus refusal = local_binding_refusal(worker, *c, *session, req->header);
    if (refusal != NtStatus::SUCCESS) {
      req->reply(refusal);
      return;
    }
    PendingBinding fresh;
    fresh.authenticator = make_authenticator(worker);
    if (n.dialect == 0x0311) fresh.preauth = n.preauth;
    pending = session->bindings.emplace(connection_id, std::move(fresh)).first;
  }
  PendingBinding& binding = pending->second;
  if (n.dialect == 0x0311) binding.preauth.update(req->pdu);

  auth::AuthStep step = binding.authenticator->step(request.security_buffer);
  SessionSetupResponse response;
  response.security_buffer = step.output_token;
  if (step.status == NtStatus::MORE_PROCESSING_REQUIRED) {
    Worker* w = &worker;
    req->complete(more_processing(
        session_id, response, n.dialect, [w, session_id, connection_id](ByteSpan element) {
          Session* s = w->client().session(session_id);
          if (s == nullptr) return;
          if (auto b = s->bindings.find(connection_id); b != s->bindings.end())
            b->second.preauth.update(element);
        }));
    return;
  }
  Response out;
  out.session_id_override = session_id;
  PendingBinding finished = std::move(binding);
  session->bindings.erase(pending);
  if (step.status != NtStatus::SUCCESS) {
    log::notice(c->peer().c_str(), "channel binding failed for user '%s': %s", step.user.c_str(),
                std::string(nt_status_name(step.status)).c_str());
    answer_failed_logon(req, step.user);
    return;
  }
  // The channel belongs to the session's user (MS-SMB2 3.3.5.5.3).
  if (step.anonymous ||
      strcasecmp(worker.config().unix_name(step.user).c_str(), session->user.c_str()) != 0) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  if (step.session_key.empty()) {
    req->reply(NtStatus::NOT_SUPPORTED);
    return;
  }
  crypto::SessionKeys keys = crypto::derive_session_keys(
      n.dialect, crypto::Role::Server, step.session_key,
      n.cipher.value_or(crypto::Cipher::AES_128_CCM), finished.preauth.value());
  SessionChannel channel;
  channel.connection_id = connection_id;
  channel.signer =
      std::make_unique<crypto::Signer>(connection_signing_algorithm(n), keys.signing_key);
  session->channels[connection_id] = std::move(channel);
  c->authenticated(true);
  log::info(c->peer().c_str(), "connection bound to the session of %s (%zu channels)",
            session->user.c_str(), session->channels.size());
  out.body = encode_body(response);
  out.has_body = true;
  out.force_sign = true;  // with the new channel's key (MS-SMB2 3.3.5.5.3)
  req->complete(std::move(out));
}

}  // namespace

void handle_session_setup(const RequestPtr& req) {
  Connection* c = req->connection();
  Worker& worker = req->worker;
  ClientState& client = req->client();
  SessionSetupRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  const auto& n = c->negotiated();

  if ((request.flags & kSessionSetupFlagBinding) != 0) {
    handle_binding(req, request);
    return;
  }

  Session* session = req->session;
  bool new_session = false;
  if (req->header.session_id == 0) {
    // MS-SMB2 3.3.5.5.1: a session the server has no room for fails with
    // STATUS_INSUFFICIENT_RESOURCES.
    if (client.sessions_on(c->id()) >= worker.config().conf.global.max_sessions_per_connection) {
      req->reply(NtStatus::INSUFFICIENT_RESOURCES);
      return;
    }
    Session& created = client.new_session();
    created.bound_connection = c->id();
    created.dialect = n.dialect;
    if (n.dialect == 0x0311) created.preauth = n.preauth;
    created.authenticator = make_authenticator(worker);
    session = &created;
    new_session = true;
  } else if (session->authenticator == nullptr) {
    // Re-authentication of an established session (MS-SMB2 3.3.5.5.2).
    session->authenticator = make_authenticator(worker);
    if (n.dialect == 0x0311) session->preauth = n.preauth;
  }
  std::uint64_t session_id = session->id;
  if (n.dialect == 0x0311) session->preauth.update(req->pdu);

  auth::AuthStep step = session->authenticator->step(request.security_buffer);
  SessionSetupResponse response;
  response.security_buffer = step.output_token;
  if (step.status == NtStatus::MORE_PROCESSING_REQUIRED) {
    Worker* w = &worker;
    req->complete(
        more_processing(session_id, response, n.dialect, [w, session_id](ByteSpan element) {
          if (Session* s = w->client().session(session_id)) s->preauth.update(element);
        }));
    return;
  }
  Response out;
  out.session_id_override = session_id;

  // An expired session re-authenticates too, and keeps its keys (MS-SMB2 3.3.5.5.2).
  bool reauth = !new_session && (session->state == Session::State::VALID ||
                                 session->state == Session::State::EXPIRED);
  if (step.status != NtStatus::SUCCESS) {
    // MS-SMB2 3.3.5.5.3 with `map to guest = bad user`: an unknown user becomes guest.
    const auto& g = worker.config().conf.global;
    bool as_guest = g.map_to_guest == conf::MapToGuest::BAD_USER &&
                    step.failure == auth::AuthFailure::no_such_user && !reauth;
    if (!as_guest) {
      log::notice(c->peer().c_str(), "authentication failed for user '%s': %s%s%s",
                  step.user.c_str(), std::string(nt_status_name(step.status)).c_str(),
                  step.failure_detail.empty() ? "" : ": ", step.failure_detail.c_str());
      end_session(client, session_id);
      answer_failed_logon(req, step.user);
      return;
    }
    session->guest = true;
    step.status = NtStatus::SUCCESS;
    step.output_token = session->authenticator->guest_accept_token();
    response.security_buffer = step.output_token;
  }
  session->authenticator.reset();
  if (reauth) {
    // The same user keeps the session; another user may not take it over.
    if (!step.anonymous && worker.config().unix_name(step.user) != session->user) {
      end_session(client, session_id);
      req->reply(NtStatus::LOGON_FAILURE);
      return;
    }
    // Re-authenticated as anonymous, the session acts as the anonymous user from now on,
    // on every tree connect too (MS-SMB2 3.3.5.5.3: the new security context replaces the
    // old), as Samba's smbd does: the previous user's rights are not kept; back as its
    // user, it acts as the user again.
    if (step.anonymous != session->anonymous &&
        !reidentify(worker, *c, *session, step.anonymous)) {
      end_session(client, session_id);
      req->reply(NtStatus::LOGON_FAILURE);
      return;
    }
    response.session_flags = session->anonymous ? kSessionFlagIsNull : 0;
    out.body = encode_body(response);
    out.has_body = true;
    session->state = Session::State::VALID;
    session->expires_at = ticket_end(step);
    // Signed with the channel's existing key: a re-authentication derives no new keys.
    out.force_sign = !session->anonymous && !session->guest;
    req->complete(std::move(out));
    return;
  }
  std::uint16_t flags = 0;
  NtStatus status = establish(worker, *c, *session, request, step, flags);
  if (status != NtStatus::SUCCESS) {
    client.remove_session(session_id);
    req->reply(status);
    return;
  }
  // MS-SMB2 3.3.5.5.3: a PreviousSessionId of the same user ends that session, as the
  // loss of its connection would: its durable opens wait, disconnected, for a reconnect.
  // A session of another worker (another ClientGUID) is ended there before the answer.
  bool previous_elsewhere = false;
  if (request.previous_session_id != 0 && request.previous_session_id != session_id &&
      !session->anonymous && !session->guest) {
    Session* previous = client.session(request.previous_session_id);
    if (previous == nullptr) {
      previous_elsewhere = true;
    } else if (previous->state == Session::State::VALID && !previous->guest &&
               !previous->anonymous && durable_owner_of(*previous) == durable_owner_of(*session)) {
      log::info(c->peer().c_str(), "session of %s reconnected: its previous session ends",
                session->user.c_str());
      client.disconnect_session(request.previous_session_id);
      session = client.session(session_id);
    }
  }
  std::string ticket;
  if (session->kerberos)
    ticket = step.lifetime_seconds < 0
                 ? ", Kerberos"
                 : ", Kerberos ticket ending in " + std::to_string(step.lifetime_seconds) + " s";
  log::info(c->peer().c_str(), "session for %s%s%s%s established",
            session->anonymous ? "anonymous" : session->user.c_str(),
            session->guest ? " (guest)" : "", session->encrypt_data ? ", encrypted" : "",
            ticket.c_str());
  response.session_flags = flags;
  out.body = encode_body(response);
  out.has_body = true;
  // MS-SMB2 3.3.5.5.3: the final response of a 3.1.1 session is signed.
  out.force_sign = n.dialect == 0x0311 && !session->anonymous && !session->guest;
  if (previous_elsewhere) {
    auto answer = std::make_shared<Response>(std::move(out));
    worker.replace_session(request.previous_session_id, durable_owner_of(*session),
                           [req, answer]() {
                             if (req->connection() == nullptr) return;
                             req->complete(std::move(*answer));
                           });
    return;
  }
  req->complete(std::move(out));
}

}  // namespace smb::server
