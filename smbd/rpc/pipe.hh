// A named pipe in IPC$ carrying connection-oriented DCE/RPC ([C706] ch. 12, [MS-RPCE]
// 2.1.1.2 "SMB" protocol sequence ncacn_np).
//
// The SMB layer opens one PipeEndpoint per CREATE of a pipe name and feeds it the
// payload of WRITE, READ and IOCTL FSCTL_PIPE_TRANSCEIVE. The pipe is a byte stream
// towards the server (a PDU may arrive in several writes, several PDUs in one write)
// and message mode towards the client: every PDU the server sends is one message, and
// a read returns at most the rest of the current message.
//
// No authentication happens at the RPC level (over ncacn_np the SMB session has
// authenticated the client); binds with an auth verifier are refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/rpc/interface.hh"
#include "smbd/rpc/pdu.hh"
#include "smbd/rpc/srvsvc.hh"

namespace smb::rpc {

// NTSTATUS values ([MS-ERREF] 2.3.1) for pipe states not in smb::NtStatus.
// STATUS_PIPE_EMPTY: nothing to read. A Windows server keeps such a read pending until
// the next response; the SMB layer may do the same or return this status.
inline constexpr NtStatus kStatusPipeEmpty = static_cast<NtStatus>(0xC00000D9);
// STATUS_PIPE_BUSY: FSCTL_PIPE_TRANSCEIVE while unread data is queued ([MS-FSCC] 2.3.48).
inline constexpr NtStatus kStatusPipeBusy = static_cast<NtStatus>(0xC00000AE);

// Fragment size this server announces and sends at most (4280, as Windows uses on
// named pipes); a smaller max_recv_frag from the client lowers it.
inline constexpr std::uint16_t kServerMaxFrag = 4280;
// Bound on the PDU bytes of one request (all its fragments, headers included).
inline constexpr std::size_t kMaxCallBytes = 256 * 1024;
// Bound on responses queued and not yet read; a client writing past it is cut off.
inline constexpr std::size_t kMaxQueuedOutput = 1024 * 1024;
// Bound on presentation contexts per association.
inline constexpr std::size_t kMaxContexts = 32;
// [MS-RPCE] 2.2.2.14: the bind time features this server supports. Only
// KeepConnectionOnOrphanSupported (0x02): an orphaned PDU ends its call and nothing
// else; security context multiplexing needs RPC-level auth, which is not offered.
inline constexpr std::uint8_t kSupportedBindTimeFeatures = 0x02;

class PipeEndpoint {
 public:
  // `pipe_name` without "\PIPE\" (e.g. "srvsvc"); it forms the bind_ack secondary
  // address. `interfaces` are the abstract syntaxes a bind may name.
  PipeEndpoint(std::string pipe_name, std::vector<std::unique_ptr<Interface>> interfaces);

  // Consumes all of `data`. SUCCESS also when a PDU was rejected: the answer (fault or
  // bind_nak) is then queued for reading. PIPE_BROKEN after a protocol error ended the
  // association ([C706] ch. 12: the server drops the association); INSUFFICIENT_RESOURCES
  // when the client keeps writing without reading (kMaxQueuedOutput), which also
  // breaks the pipe.
  NtStatus write(ByteSpan data);

  // Returns the next bytes of the current message in `out` (replaced), at most `max`.
  // SUCCESS when the message is complete, BUFFER_OVERFLOW when more of it remains for
  // the next read. With nothing queued: kStatusPipeEmpty, or PIPE_BROKEN once broken.
  NtStatus read(std::size_t max, Bytes& out);

  // FSCTL_PIPE_TRANSCEIVE ([MS-SMB2] 3.3.5.15.3, [MS-FSCC] 2.3.48): write then read.
  // kStatusPipeBusy when unread data is queued (nothing written); otherwise as write, then as read.
  NtStatus transceive(ByteSpan in, std::size_t max_out, Bytes& out);

  bool has_output() const { return !out_.empty(); }
  // Bytes queued for reading (FSCTL_PIPE_PEEK ReadDataAvailable).
  std::size_t output_bytes() const { return queued_ - out_pos_; }
  // Bytes left in the current message (FSCTL_PIPE_PEEK MessageLength).
  std::size_t current_message_bytes() const {
    return out_.empty() ? 0 : out_.front().size() - out_pos_;
  }
  bool broken() const { return broken_; }
  const std::string& pipe_name() const { return name_; }

 private:
  struct Context {
    std::uint16_t id;
    Interface* iface;
  };

  void handle_pdu(ByteSpan pdu, const Header& h);
  void on_bind(ByteSpan pdu, const Header& h);
  void on_alter_context(ByteSpan pdu, const Header& h);
  void on_request(ByteSpan pdu, const Header& h);
  void execute(std::uint32_t call_id, std::uint16_t context_id, std::uint16_t opnum, ByteSpan stub);
  std::vector<ContextResult> negotiate(const std::vector<ContextElement>& contexts);
  Interface* find_interface(const SyntaxId& abstract) const;
  Context* find_context(std::uint16_t id);

  Header reply_header(PduType type, std::uint32_t call_id) const;
  void queue(Bytes pdu);
  void queue_fault(std::uint32_t call_id, std::uint16_t context_id, std::uint32_t status);
  void queue_bind_nak(std::uint32_t call_id, std::uint16_t reason);
  void queue_response(std::uint32_t call_id, std::uint16_t context_id, ByteSpan stub);
  // A protocol error: answer with nca_s_proto_error and end the association.
  void protocol_error(std::uint32_t call_id);
  void reset_call();

  std::string name_;
  std::vector<std::unique_ptr<Interface>> interfaces_;
  std::vector<Context> contexts_;
  bool bound_ = false;
  bool broken_ = false;
  std::uint8_t rpc_vers_minor_ = 0;
  std::uint16_t xmit_frag_ = kServerMaxFrag;
  std::uint32_t assoc_group_ = 0;

  Bytes in_;  // an incomplete PDU from the client

  // The request being reassembled from fragments ([C706] 12.6.4.9 PFC_FIRST_FRAG,
  // PFC_LAST_FRAG).
  bool assembling_ = false;
  std::uint32_t call_id_ = 0;
  std::uint16_t call_context_ = 0;
  std::uint16_t call_opnum_ = 0;
  std::size_t call_bytes_ = 0;
  Bytes call_stub_;
  // Later fragments of a call that was already answered with a fault are dropped.
  std::optional<std::uint32_t> discard_call_;

  std::deque<Bytes> out_;  // one PDU per message
  std::size_t out_pos_ = 0;
  std::size_t queued_ = 0;
};

// The endpoint for `pipe_name` as given in the SMB2 CREATE of IPC$ ("srvsvc",
// case-insensitive; a leading "\" or "\PIPE\" is accepted), or nullptr for a pipe this
// server does not offer: the SMB layer then answers STATUS_OBJECT_NAME_NOT_FOUND.
std::unique_ptr<PipeEndpoint> open_pipe(std::string_view pipe_name, ServerInfo server,
                                        ShareLister list_shares);

}  // namespace smb::rpc
