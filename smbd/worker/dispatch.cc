#include "smbd/worker/dispatch.hh"

#include <algorithm>
#include <array>

#include "smbd/proto/ioctl.hh"
#include "smbd/proto/read.hh"

namespace smb::server {

namespace {

// The bodies' fields the credit charge is computed from, at their offsets from the body
// start (MS-SMB2 2.2.19, 2.2.21, 2.2.31, 2.2.33, 2.2.35, 2.2.37, 2.2.39).
class Body {
 public:
  explicit Body(ByteSpan pdu) : reader_(pdu) {}
  std::uint32_t u32(std::size_t offset) {
    reader_.seek(kSmb2HeaderSize + offset);
    return reader_.u32();
  }
  std::uint16_t u16(std::size_t offset) {
    reader_.seek(kSmb2HeaderSize + offset);
    return reader_.u16();
  }
  std::optional<std::uint64_t> size(std::uint64_t bytes) const {
    return reader_.ok() ? std::optional<std::uint64_t>(bytes) : std::nullopt;
  }

 private:
  ByteReader reader_;
};

// READ: the data asked for (Length).
std::optional<std::uint64_t> read_payload(ByteSpan pdu) {
  Body b(pdu);
  return b.size(b.u32(4));
}

// WRITE: the data sent, inline (Length) or pulled over an RDMA channel (RemainingBytes,
// MS-SMB2 3.3.5.13).
std::optional<std::uint64_t> write_payload(ByteSpan pdu) {
  Body b(pdu);
  std::uint32_t length = b.u32(4);
  auto channel = static_cast<Channel>(b.u32(32));
  std::uint32_t remaining = b.u32(36);
  return b.size(is_rdma_v1(channel) ? remaining : length);
}

// IOCTL: max(InputCount, MaxOutputResponse) (MS-SMB2 3.2.4.20).
std::optional<std::uint64_t> ioctl_payload(ByteSpan pdu) {
  Body b(pdu);
  std::uint32_t input = b.u32(28);
  std::uint32_t max_output = b.u32(44);
  return b.size(std::max(input, max_output));
}

// IOCTL FSCTL_SMBTORTURE_FORCE_UNACKED_TIMEOUT while the test controls are served: it
// changes how the connection it arrives on is treated, and comes without a session.
bool ioctl_connection_only(ByteSpan pdu, const ServerConfig& config) {
  Body b(pdu);
  std::uint32_t ctl_code = b.u32(4);
  return b.size(0) && config.conf.global.smbtorture_fsctls &&
         ctl_code == FSCTL_SMBTORTURE_FORCE_UNACKED_TIMEOUT;
}

// IOCTL (MS-SMB2 3.3.5.15): a request that is not an FSCTL is refused before its FileId
// is looked at; the FSCTLs that act on the server or the tree, not on a file, want a
// FileId of all ones and refuse any other with INVALID_PARAMETER before any open is
// looked up; the others name an open, or none (all ones) for those that can do without.
FileIdUse ioctl_file_id_use(ByteSpan pdu) {
  Body b(pdu);
  std::uint32_t ctl_code = b.u32(4);
  std::uint32_t flags = b.u32(48);
  if (!b.size(0)) return FileIdUse::open;  // too short: the handler's decode refuses it
  if ((flags & kIoctlIsFsctl) == 0) return FileIdUse::ignored;
  switch (ctl_code) {
    case FSCTL_DFS_GET_REFERRALS:
    case FSCTL_DFS_GET_REFERRALS_EX:
    case FSCTL_QUERY_NETWORK_INTERFACE_INFO:
    case FSCTL_VALIDATE_NEGOTIATE_INFO:
    case FSCTL_PIPE_WAIT:
      return FileIdUse::none;
    default:
      return FileIdUse::open_or_none;
  }
}

// QUERY_DIRECTORY: the search pattern sent (FileNameLength) against OutputBufferLength.
std::optional<std::uint64_t> query_directory_payload(ByteSpan pdu) {
  Body b(pdu);
  std::uint32_t name = b.u16(26);
  std::uint32_t output = b.u32(28);
  return b.size(std::max(name, output));
}

// CHANGE_NOTIFY: OutputBufferLength.
std::optional<std::uint64_t> change_notify_payload(ByteSpan pdu) {
  Body b(pdu);
  return b.size(b.u32(4));
}

// QUERY_INFO: max(InputBufferLength, OutputBufferLength).
std::optional<std::uint64_t> query_info_payload(ByteSpan pdu) {
  Body b(pdu);
  std::uint32_t output = b.u32(4);
  std::uint32_t input = b.u32(12);
  return b.size(std::max(input, output));
}

// SET_INFO: the buffer sent (BufferLength).
std::optional<std::uint64_t> set_info_payload(ByteSpan pdu) {
  Body b(pdu);
  return b.size(b.u32(4));
}

// MS-SMB2 2.2: StructureSize of each request; FileId offsets from the body start.
constexpr std::array<CommandSpec, 19> kCommands{{
    {.command = Command::NEGOTIATE,
     .structure_size = 36,
     .session = SessionRule::none,
     .encryption = EncryptionRule::exempt,
     .negotiates = true,
     .handler = handle_negotiate},
    {.command = Command::SESSION_SETUP,
     .structure_size = 25,
     .session = SessionRule::setup,
     .encryption = EncryptionRule::exempt,
     .handler = handle_session_setup},
    {.command = Command::LOGOFF, .structure_size = 4, .handler = handle_logoff},
    {.command = Command::TREE_CONNECT, .structure_size = 9, .handler = handle_tree_connect},
    {.command = Command::TREE_DISCONNECT,
     .structure_size = 4,
     .needs_tree = true,
     .handler = handle_tree_disconnect},
    {.command = Command::CREATE,
     .structure_size = 57,
     .needs_tree = true,
     .opens_for_chain = true,
     .handler = handle_create},
    {.command = Command::CLOSE,
     .structure_size = 24,
     .needs_tree = true,
     .file_id_offset = 8,
     .handler = handle_close},
    {.command = Command::FLUSH,
     .structure_size = 24,
     .needs_tree = true,
     .file_id_offset = 8,
     .handler = handle_flush},
    {.command = Command::READ,
     .structure_size = 49,
     .needs_tree = true,
     .file_id_offset = 16,
     .payload_size = read_payload,
     .handler = handle_read},
    {.command = Command::WRITE,
     .structure_size = 49,
     .needs_tree = true,
     .file_id_offset = 16,
     .payload_size = write_payload,
     .modifies = true,
     .handler = handle_write},
    {.command = Command::LOCK,
     .structure_size = 48,
     .needs_tree = true,
     .file_id_offset = 8,
     .handler = handle_lock},
    {.command = Command::IOCTL,
     .structure_size = 57,
     .needs_tree = true,
     .file_id_offset = 8,
     .file_id_rule = ioctl_file_id_use,
     .payload_size = ioctl_payload,
     .connection_only = ioctl_connection_only,
     .modifies = true,
     .handler = handle_ioctl},
    // CANCEL names the request it cancels by that request's MessageId (or AsyncId) and
    // is never answered (MS-SMB2 3.3.5.16).
    {.command = Command::CANCEL,
     .structure_size = 4,
     .session = SessionRule::none,
     .signing_exempt = true,
     .sequenced = false,
     .answered = false,
     .handler = handle_cancel},
    // ECHO needs no session; one of this channel that it names checks its signature when
    // it is signed, but a keep-alive is taken unsigned and in the clear. (MS-SMB2
    // 3.3.5.17 would hold an unencrypted ECHO that names a session to 3.3.5.2.9.)
    {.command = Command::ECHO,
     .structure_size = 4,
     .session = SessionRule::optional,
     .signing_exempt = true,
     .encryption = EncryptionRule::request_exempt,
     .handler = handle_echo},
    {.command = Command::QUERY_DIRECTORY,
     .structure_size = 33,
     .needs_tree = true,
     .file_id_offset = 8,
     .payload_size = query_directory_payload,
     .handler = handle_query_directory},
    {.command = Command::CHANGE_NOTIFY,
     .structure_size = 32,
     .needs_tree = true,
     .file_id_offset = 8,
     .payload_size = change_notify_payload,
     .handler = handle_change_notify},
    {.command = Command::QUERY_INFO,
     .structure_size = 41,
     .needs_tree = true,
     .file_id_offset = 24,
     .payload_size = query_info_payload,
     .handler = handle_query_info},
    {.command = Command::SET_INFO,
     .structure_size = 33,
     .needs_tree = true,
     .file_id_offset = 16,
     .payload_size = set_info_payload,
     .modifies = true,
     .handler = handle_set_info},
    // OPLOCK_BREAK has two sizes (oplock 24, lease 36); the handler tells them apart.
    {.command = Command::OPLOCK_BREAK,
     .structure_size = 0,
     .needs_tree = true,
     .handler = handle_oplock_break},
}};

// The table is indexed by command code.
constexpr bool indexed_by_code() {
  for (std::size_t i = 0; i < kCommands.size(); ++i)
    if (static_cast<std::size_t>(kCommands[i].command) != i) return false;
  return true;
}
static_assert(indexed_by_code());

}  // namespace

const CommandSpec* find_command(std::uint16_t command) {
  if (command >= kCommands.size()) return nullptr;
  return &kCommands[command];
}

}  // namespace smb::server
