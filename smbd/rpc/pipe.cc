#include "smbd/rpc/pipe.hh"

#include <algorithm>
#include <atomic>
#include <utility>

namespace smb::rpc {

namespace {

// Association groups (assoc_group_id, [C706] 12.6.4.3) are per server process; ids only need to
// be distinct and non-zero.
std::uint32_t new_assoc_group() {
  static std::atomic<std::uint32_t> next{0x5a10};
  std::uint32_t id = next.fetch_add(1, std::memory_order_relaxed);
  return id == 0 ? next.fetch_add(1, std::memory_order_relaxed) : id;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

}  // namespace

PipeEndpoint::PipeEndpoint(std::string pipe_name,
                           std::vector<std::unique_ptr<Interface>> interfaces)
    : name_(std::move(pipe_name)), interfaces_(std::move(interfaces)) {}

NtStatus PipeEndpoint::write(ByteSpan data) {
  if (broken_) return NtStatus::PIPE_BROKEN;
  in_.insert(in_.end(), data.begin(), data.end());
  std::size_t pos = 0;
  while (in_.size() - pos >= kCommonHeaderSize) {
    ByteSpan rest = ByteSpan(in_).subspan(pos);
    Header h;
    if (!decode_header(rest, h) || h.frag_length < kCommonHeaderSize) {
      // The stream can no longer be split into PDUs ([C706] ch. 12: a protocol error).
      protocol_error(h.call_id);
      break;
    }
    if (rest.size() < h.frag_length) break;
    if (queued_ > kMaxQueuedOutput) {
      broken_ = true;
      in_.clear();
      reset_call();
      return NtStatus::INSUFFICIENT_RESOURCES;
    }
    handle_pdu(rest.first(h.frag_length), h);
    if (broken_) break;
    pos += h.frag_length;
  }
  if (broken_) {
    in_.clear();  // nothing after a protocol error is processed
  } else {
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(pos));
  }
  return NtStatus::SUCCESS;
}

NtStatus PipeEndpoint::read(std::size_t max, Bytes& out) {
  out.clear();
  if (out_.empty()) return broken_ ? NtStatus::PIPE_BROKEN : kStatusPipeEmpty;
  const Bytes& msg = out_.front();
  std::size_t n = std::min(max, msg.size() - out_pos_);
  out.assign(msg.begin() + static_cast<std::ptrdiff_t>(out_pos_),
             msg.begin() + static_cast<std::ptrdiff_t>(out_pos_ + n));
  out_pos_ += n;
  if (out_pos_ < msg.size()) return NtStatus::BUFFER_OVERFLOW;
  queued_ -= msg.size();
  out_pos_ = 0;
  out_.pop_front();
  return NtStatus::SUCCESS;
}

NtStatus PipeEndpoint::transceive(ByteSpan in, std::size_t max_out, Bytes& out) {
  out.clear();
  if (has_output()) return kStatusPipeBusy;
  NtStatus s = write(in);
  if (s != NtStatus::SUCCESS) return s;
  return read(max_out, out);
}

void PipeEndpoint::handle_pdu(ByteSpan pdu, const Header& h) {
  switch (h.type) {
    case PduType::bind:
      on_bind(pdu, h);
      return;
    case PduType::alter_context:
      on_alter_context(pdu, h);
      return;
    case PduType::request:
      on_request(pdu, h);
      return;
    case PduType::auth3:
      // [MS-RPCE] 2.2.2.10: the third leg of an RPC-level authentication, which binds
      // here never start; it has no reply.
      return;
    case PduType::co_cancel:
      // [C706] 12.6.4.6: cancels are advisory; calls run to completion when their last
      // fragment arrives, so there is nothing to cancel.
      return;
    case PduType::orphaned:
      // [C706] 12.6.4.8: the client abandoned the call; drop its fragments, no reply.
      if (assembling_ && call_id_ == h.call_id) reset_call();
      return;
    default:
      // Server-to-client or connectionless PDU types are protocol errors here.
      protocol_error(h.call_id);
      return;
  }
}

Header PipeEndpoint::reply_header(PduType type, std::uint32_t call_id) const {
  Header h;
  h.rpc_vers_minor = rpc_vers_minor_;
  h.type = type;
  h.pfc_flags = kPfcFirstFrag | kPfcLastFrag;
  h.call_id = call_id;
  return h;
}

void PipeEndpoint::queue(Bytes pdu) {
  queued_ += pdu.size();
  out_.push_back(std::move(pdu));
}

void PipeEndpoint::queue_fault(std::uint32_t call_id, std::uint16_t context_id,
                               std::uint32_t status) {
  FaultPdu f;
  f.header = reply_header(PduType::fault, call_id);
  // Every fault this server sends precedes any execution of the operation.
  f.header.pfc_flags |= kPfcDidNotExecute;
  f.context_id = context_id;
  f.status = status;
  Bytes pdu;
  encode(f, pdu);
  queue(std::move(pdu));
}

void PipeEndpoint::queue_bind_nak(std::uint32_t call_id, std::uint16_t reason) {
  BindNakPdu nak;
  nak.header = reply_header(PduType::bind_nak, call_id);
  nak.reject_reason = reason;
  Bytes pdu;
  encode(nak, pdu);
  queue(std::move(pdu));
}

void PipeEndpoint::queue_response(std::uint32_t call_id, std::uint16_t context_id, ByteSpan stub) {
  // [C706] 12.6.4.10: each fragment fits the client's max_recv_frag;
  // stub data of all but the last fragment is a multiple of 8 octets, keeping NDR
  // alignment identical in every fragment.
  const std::size_t per_frag = ((xmit_frag_ - kResponseHeaderSize) / 8) * 8;
  std::size_t offset = 0;
  do {
    std::size_t n = std::min(per_frag, stub.size() - offset);
    ResponsePdu r;
    r.header = reply_header(PduType::response, call_id);
    r.header.pfc_flags = 0;
    if (offset == 0) r.header.pfc_flags |= kPfcFirstFrag;
    if (offset + n == stub.size()) r.header.pfc_flags |= kPfcLastFrag;
    r.alloc_hint = static_cast<std::uint32_t>(stub.size() - offset);
    r.context_id = context_id;
    r.stub = stub.subspan(offset, n);
    Bytes pdu;
    encode(r, pdu);
    queue(std::move(pdu));
    offset += n;
  } while (offset < stub.size());
}

void PipeEndpoint::protocol_error(std::uint32_t call_id) {
  queue_fault(call_id, 0, kNcaProtoError);
  broken_ = true;
  bound_ = false;
  contexts_.clear();
  reset_call();
}

void PipeEndpoint::reset_call() {
  assembling_ = false;
  call_bytes_ = 0;
  Bytes().swap(call_stub_);
}

Interface* PipeEndpoint::find_interface(const SyntaxId& abstract) const {
  for (const auto& iface : interfaces_) {
    const SyntaxId& s = iface->syntax();
    // [C706] 12.6.4.3: major versions must match; the server's minor
    // version must be at least the client's.
    if (s.uuid == abstract.uuid && s.major == abstract.major && s.minor >= abstract.minor) {
      return iface.get();
    }
  }
  return nullptr;
}

PipeEndpoint::Context* PipeEndpoint::find_context(std::uint16_t id) {
  auto it = std::find_if(contexts_.begin(), contexts_.end(),
                         [id](const Context& c) { return c.id == id; });
  return it == contexts_.end() ? nullptr : &*it;
}

std::vector<ContextResult> PipeEndpoint::negotiate(const std::vector<ContextElement>& contexts) {
  // [C706] 12.6.3.1: one result per offered context, in order.
  std::vector<ContextResult> results;
  for (const ContextElement& c : contexts) {
    ContextResult r;
    if (c.transfer_syntaxes.size() == 1 &&
        is_bind_time_feature_syntax(c.transfer_syntaxes.front())) {
      // [MS-RPCE] 3.3.1.5.3: answer negotiate_ack; the reason field carries the
      // features both sides support, the transfer syntax is zero.
      r.result = kResultNegotiateAck;
      r.reason = c.transfer_syntaxes.front().uuid.bytes[8] & kSupportedBindTimeFeatures;
      results.push_back(r);
      continue;
    }
    r.result = kResultProviderRejection;
    Interface* iface = find_interface(c.abstract_syntax);
    bool ndr20 = std::find(c.transfer_syntaxes.begin(), c.transfer_syntaxes.end(),
                           ndr20_syntax()) != c.transfer_syntaxes.end();
    if (iface == nullptr) {
      r.reason = kReasonAbstractSyntaxNotSupported;
    } else if (!ndr20) {
      // NDR64 ([MS-RPCE] 2.2.5) and any other transfer syntax are not offered.
      r.reason = kReasonTransferSyntaxesNotSupported;
    } else if (Context* existing = find_context(c.context_id)) {
      // A context id keeps the syntax it was first given ([C706] 12.6.4.1).
      if (existing->iface == iface) {
        r.result = kResultAcceptance;
        r.transfer_syntax = ndr20_syntax();
      } else {
        r.reason = kReasonNotSpecified;
      }
    } else if (contexts_.size() >= kMaxContexts) {
      r.reason = kReasonLocalLimitExceeded;
    } else {
      contexts_.push_back(Context{c.context_id, iface});
      r.result = kResultAcceptance;
      r.transfer_syntax = ndr20_syntax();
    }
    results.push_back(r);
  }
  return results;
}

void PipeEndpoint::on_bind(ByteSpan pdu, const Header& h) {
  BindPdu b;
  // [MS-RPCE] 2.2.2.5: PROTOCOL_VERSION_NOT_SUPPORTED also reports a protocol error
  // detected in a bind. A second bind on a bound association is one ([C706] 12.6.4.3).
  if (h.rpc_vers_minor > 1 || !decode(pdu, b) || bound_ || b.max_recv_frag < kMustRecvFragSize ||
      b.max_xmit_frag < kMustRecvFragSize) {
    queue_bind_nak(h.call_id, kNakProtocolVersionNotSupported);
    return;
  }
  if (h.auth_length != 0) {
    queue_bind_nak(h.call_id, kNakAuthenticationTypeNotRecognized);
    return;
  }
  rpc_vers_minor_ = h.rpc_vers_minor;
  xmit_frag_ = std::min(b.max_recv_frag, kServerMaxFrag);
  assoc_group_ = b.assoc_group_id != 0 ? b.assoc_group_id : new_assoc_group();
  bound_ = true;

  BindAckPdu ack;
  ack.header = reply_header(PduType::bind_ack, h.call_id);
  ack.max_xmit_frag = xmit_frag_;
  ack.max_recv_frag = std::min(b.max_xmit_frag, kServerMaxFrag);
  ack.assoc_group_id = assoc_group_;
  // [MS-RPCE] 2.1.1.2 (ncacn_np): the secondary address is the pipe's name.
  ack.secondary_address = "\\PIPE\\" + name_;
  ack.results = negotiate(b.contexts);
  Bytes out;
  encode(ack, out);
  queue(std::move(out));
}

void PipeEndpoint::on_alter_context(ByteSpan pdu, const Header& h) {
  BindPdu b;
  if (!bound_ || !decode(pdu, b) || h.auth_length != 0) {
    protocol_error(h.call_id);
    return;
  }
  BindAckPdu ack;
  ack.header = reply_header(PduType::alter_context_resp, h.call_id);
  ack.max_xmit_frag = xmit_frag_;
  ack.max_recv_frag = std::min(b.max_xmit_frag, kServerMaxFrag);
  ack.assoc_group_id = assoc_group_;
  ack.results = negotiate(b.contexts);  // no secondary address ([C706] 12.6.4.2)
  Bytes out;
  encode(ack, out);
  queue(std::move(out));
}

void PipeEndpoint::on_request(ByteSpan pdu, const Header& h) {
  RequestPdu q;
  if (!bound_ || !decode(pdu, q)) {
    protocol_error(h.call_id);
    return;
  }
  const bool first = (h.pfc_flags & kPfcFirstFrag) != 0;
  const bool last = (h.pfc_flags & kPfcLastFrag) != 0;
  if (discard_call_ && *discard_call_ == h.call_id && !first) {
    if (last) discard_call_.reset();
    return;
  }
  discard_call_.reset();
  if (first) {
    // One call at a time on a pipe: a new call while fragments of another are
    // outstanding breaks the fragment sequence ([C706] 12.6.4.9).
    if (assembling_) {
      protocol_error(h.call_id);
      return;
    }
    assembling_ = true;
    call_id_ = h.call_id;
    call_context_ = q.context_id;
    call_opnum_ = q.opnum;
    call_bytes_ = 0;
    call_stub_.clear();
  } else if (!assembling_ || h.call_id != call_id_) {
    protocol_error(h.call_id);
    return;
  }

  // Each fragment's header counts too, so a flood of empty fragments is bounded.
  call_bytes_ += pdu.size();
  std::uint32_t reject = 0;
  if (call_bytes_ > kMaxCallBytes) {
    reject = kNcaFaultRemoteNoMemory;
  } else if (h.auth_length != 0) {
    reject = kNcaFaultAccessDenied;  // no security context exists to verify it
  }
  if (reject != 0) {
    std::uint16_t context = call_context_;
    reset_call();
    queue_fault(h.call_id, context, reject);
    if (!last) discard_call_ = h.call_id;
    return;
  }
  call_stub_.insert(call_stub_.end(), q.stub.begin(), q.stub.end());
  if (!last) return;

  Bytes stub = std::move(call_stub_);
  std::uint16_t context = call_context_;
  std::uint16_t opnum = call_opnum_;
  reset_call();
  execute(h.call_id, context, opnum, stub);
}

void PipeEndpoint::execute(std::uint32_t call_id, std::uint16_t context_id, std::uint16_t opnum,
                           ByteSpan stub) {
  Context* c = find_context(context_id);
  if (c == nullptr) {
    // [C706] Appendix E: nca_unk_if, the call names no interface of this association.
    queue_fault(call_id, context_id, kNcaUnkIf);
    return;
  }
  Bytes result;
  std::uint32_t fault = c->iface->call(opnum, stub, result);
  if (fault != 0) {
    queue_fault(call_id, context_id, fault);
    return;
  }
  queue_response(call_id, context_id, result);
}

std::unique_ptr<PipeEndpoint> open_pipe(std::string_view pipe_name, ServerInfo server,
                                        ShareLister list_shares) {
  std::string_view name = pipe_name;
  while (!name.empty() && name.front() == '\\') name.remove_prefix(1);
  if (name.size() > 5 && iequals(name.substr(0, 5), "pipe\\")) name.remove_prefix(5);
  if (iequals(name, "srvsvc")) {
    std::vector<std::unique_ptr<Interface>> interfaces;
    interfaces.push_back(std::make_unique<Srvsvc>(std::move(server), std::move(list_shares)));
    return std::make_unique<PipeEndpoint>("srvsvc", std::move(interfaces));
  }
  return nullptr;
}

}  // namespace smb::rpc
