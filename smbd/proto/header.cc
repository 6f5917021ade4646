#include "smbd/proto/header.hh"

namespace smb {

const char* command_name(Command command) {
  switch (command) {
    case Command::NEGOTIATE:
      return "SMB2_NEGOTIATE";
    case Command::SESSION_SETUP:
      return "SMB2_SESSION_SETUP";
    case Command::LOGOFF:
      return "SMB2_LOGOFF";
    case Command::TREE_CONNECT:
      return "SMB2_TREE_CONNECT";
    case Command::TREE_DISCONNECT:
      return "SMB2_TREE_DISCONNECT";
    case Command::CREATE:
      return "SMB2_CREATE";
    case Command::CLOSE:
      return "SMB2_CLOSE";
    case Command::FLUSH:
      return "SMB2_FLUSH";
    case Command::READ:
      return "SMB2_READ";
    case Command::WRITE:
      return "SMB2_WRITE";
    case Command::LOCK:
      return "SMB2_LOCK";
    case Command::IOCTL:
      return "SMB2_IOCTL";
    case Command::CANCEL:
      return "SMB2_CANCEL";
    case Command::ECHO:
      return "SMB2_ECHO";
    case Command::QUERY_DIRECTORY:
      return "SMB2_QUERY_DIRECTORY";
    case Command::CHANGE_NOTIFY:
      return "SMB2_CHANGE_NOTIFY";
    case Command::QUERY_INFO:
      return "SMB2_QUERY_INFO";
    case Command::SET_INFO:
      return "SMB2_SET_INFO";
    case Command::OPLOCK_BREAK:
      return "SMB2_OPLOCK_BREAK";
  }
  return "SMB2_UNKNOWN";
}

NtStatus decode(ByteSpan pdu, Header& out) {
  ByteReader r(pdu);
  if (r.u32() != kSmb2ProtocolIdValue) return NtStatus::INVALID_PARAMETER;
  // MS-SMB2 2.2.1: StructureSize MUST be 64.
  if (r.u16() != kSmb2HeaderSize) return NtStatus::INVALID_PARAMETER;
  Header h;
  h.credit_charge = r.u16();
  std::uint32_t status = r.u32();
  h.command = static_cast<Command>(r.u16());
  h.credit_request_response = r.u16();
  h.flags = r.u32();
  h.next_command = r.u32();
  h.message_id = r.u64();
  if (h.is_async()) {
    h.async_id = r.u64();
  } else {
    h.process_id = r.u32();
    h.tree_id = r.u32();
  }
  h.session_id = r.u64();
  r.copy(h.signature);
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  h.status = static_cast<NtStatus>(status);
  if (!h.is_response()) h.channel_sequence = static_cast<std::uint16_t>(status);
  out = h;
  return NtStatus::SUCCESS;
}

void encode(const Header& h, ByteWriter& w) {
  w.u32(kSmb2ProtocolIdValue);
  w.u16(kSmb2HeaderSize);
  w.u16(h.credit_charge);
  if (h.is_response())
    w.u32(static_cast<std::uint32_t>(h.status));
  else
    w.u32(h.channel_sequence);  // MS-SMB2 2.2.1.2: ChannelSequence, Reserved (0)
  w.u16(static_cast<std::uint16_t>(h.command));
  w.u16(h.credit_request_response);
  w.u32(h.flags);
  w.u32(h.next_command);
  w.u64(h.message_id);
  if (h.is_async()) {
    w.u64(h.async_id);
  } else {
    w.u32(h.process_id);
    w.u32(h.tree_id);
  }
  w.u64(h.session_id);
  w.bytes(h.signature);
}

NtStatus split_compound(ByteSpan message, std::vector<ByteSpan>& elements) {
  elements.clear();
  std::uint64_t start = 0;
  const std::uint64_t size = message.size();
  while (true) {
    if (!in_bounds(start, kSmb2HeaderSize, size)) return NtStatus::INVALID_PARAMETER;
    const std::uint8_t* p = message.data() + start;
    if (load_le32(p) != kSmb2ProtocolIdValue) return NtStatus::INVALID_PARAMETER;
    std::uint64_t next = load_le32(p + 20);
    if (next == 0) {
      elements.push_back(message.subspan(static_cast<std::size_t>(start)));
      return NtStatus::SUCCESS;
    }
    // MS-SMB2 3.3.5.2.7: each element of a compound begins on an 8-byte boundary.
    if (next % 8 != 0 || next < kSmb2HeaderSize || !in_bounds(start, next, size) ||
        start + next == size)
      return NtStatus::INVALID_PARAMETER;
    elements.push_back(
        message.subspan(static_cast<std::size_t>(start), static_cast<std::size_t>(next)));
    start += next;
  }
}

}  // namespace smb
