// The SMB2 packet header (MS-SMB2 2.2.1), command codes and compound chains.
//
// Every command codec in this directory follows one convention: `decode(pdu, out)` takes
// one compound element that starts at its 64-byte header, and `encode(body, writer)`
// appends the body to a writer that already holds that element's 64-byte header, so
// that offsets inside the body are written relative to the header start.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/base/ntstatus.hh"

namespace smb {

inline constexpr std::size_t kSmb2HeaderSize = 64;

// MS-SMB2 2.2.1, 2.2.41, 2.2.42: ProtocolId values, as the first four wire bytes.
inline constexpr std::array<std::uint8_t, 4> kSmb2ProtocolId{0xFE, 'S', 'M', 'B'};
inline constexpr std::array<std::uint8_t, 4> kTransformProtocolId{0xFD, 'S', 'M', 'B'};
inline constexpr std::array<std::uint8_t, 4> kCompressionProtocolId{0xFC, 'S', 'M', 'B'};
inline constexpr std::array<std::uint8_t, 4> kSmb1ProtocolId{0xFF, 'S', 'M', 'B'};
// The same ids read as little-endian 32-bit values.
inline constexpr std::uint32_t kSmb2ProtocolIdValue = 0x424D53FE;
inline constexpr std::uint32_t kTransformProtocolIdValue = 0x424D53FD;
inline constexpr std::uint32_t kCompressionProtocolIdValue = 0x424D53FC;

// MS-SMB2 2.2.1.2: Command.
enum class Command : std::uint16_t {
  NEGOTIATE = 0x0000,
  SESSION_SETUP = 0x0001,
  LOGOFF = 0x0002,
  TREE_CONNECT = 0x0003,
  TREE_DISCONNECT = 0x0004,
  CREATE = 0x0005,
  CLOSE = 0x0006,
  FLUSH = 0x0007,
  READ = 0x0008,
  WRITE = 0x0009,
  LOCK = 0x000A,
  IOCTL = 0x000B,
  CANCEL = 0x000C,
  ECHO = 0x000D,
  QUERY_DIRECTORY = 0x000E,
  CHANGE_NOTIFY = 0x000F,
  QUERY_INFO = 0x0010,
  SET_INFO = 0x0011,
  OPLOCK_BREAK = 0x0012,
};

// "SMB2_NEGOTIATE" etc., or "SMB2_UNKNOWN" for values outside the table.
const char* command_name(Command command);

// MS-SMB2 2.2.1.2: Flags.
inline constexpr std::uint32_t kFlagServerToRedir = 0x00000001;
inline constexpr std::uint32_t kFlagAsyncCommand = 0x00000002;
inline constexpr std::uint32_t kFlagRelatedOperations = 0x00000004;
inline constexpr std::uint32_t kFlagSigned = 0x00000008;
inline constexpr std::uint32_t kFlagPriorityMask = 0x00000070;
inline constexpr std::uint32_t kFlagDfsOperations = 0x10000000;
inline constexpr std::uint32_t kFlagReplayOperation = 0x20000000;

// MS-SMB2 2.2.1.1 (async) and 2.2.1.2 (sync). The 4 bytes after CreditCharge are
// Status in responses and, from dialect 3.0 on, ChannelSequence + Reserved in requests:
// decode fills `status` with the raw value and, for requests, `channel_sequence` with its
// low 16 bits; encode writes `status` for responses (SERVER_TO_REDIR set) and
// `channel_sequence` for requests.
struct Header {
  std::uint16_t credit_charge = 0;
  NtStatus status = NtStatus::SUCCESS;
  std::uint16_t channel_sequence = 0;
  Command command = Command::NEGOTIATE;
  std::uint16_t credit_request_response = 0;
  std::uint32_t flags = 0;
  std::uint32_t next_command = 0;
  std::uint64_t message_id = 0;
  std::uint64_t async_id = 0;    // ASYNC_COMMAND set
  std::uint32_t process_id = 0;  // ASYNC_COMMAND clear (Reserved)
  std::uint32_t tree_id = 0;     // ASYNC_COMMAND clear
  std::uint64_t session_id = 0;
  std::array<std::uint8_t, 16> signature{};

  bool is_response() const { return (flags & kFlagServerToRedir) != 0; }
  bool is_async() const { return (flags & kFlagAsyncCommand) != 0; }
};

// Checks ProtocolId and StructureSize (64); the command code is not checked here.
NtStatus decode(ByteSpan pdu, Header& out);
// Appends exactly 64 bytes.
void encode(const Header& header, ByteWriter& w);

// Splits a message (after any transform/compression header is removed) into its
// compound elements (MS-SMB2 3.3.5.2.7): each NextCommand must be 8-byte aligned, at
// least one header long and end inside the message; every element must be at least a
// header long and carry the SMB2 ProtocolId. The chain cannot loop since offsets only
// grow. The last element runs to the end of the message.
NtStatus split_compound(ByteSpan message, std::vector<ByteSpan>& elements);

// The body of a message, encoded as if after a header (offsets include the 64 header
// bytes), without the header itself.
template <typename Body>
Bytes encode_body(const Body& body) {
  Bytes out(kSmb2HeaderSize, 0);
  {
    ByteWriter w(out);
    encode(body, w);
  }
  out.erase(out.begin(), out.begin() + kSmb2HeaderSize);
  return out;
}

// A whole single-element message: header followed by the body.
template <typename Body>
Bytes encode_message(const Header& header, const Body& body) {
  Bytes out;
  ByteWriter w(out);
  encode(header, w);
  encode(body, w);
  return out;
}

}  // namespace smb
