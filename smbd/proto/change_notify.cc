#include "smbd/proto/change_notify.hh"

#include "smbd/proto/body.hh"
#include "smbd/proto/output_buffer.hh"

namespace smb {

namespace {
constexpr std::uint16_t kRequestSize = 32;  // MS-SMB2 2.2.35
}  // namespace

NtStatus decode(ByteSpan pdu, ChangeNotifyRequest& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kRequestSize, r); s != NtStatus::SUCCESS) return s;
  ChangeNotifyRequest q;
  q.flags = r.u16();
  q.output_buffer_length = r.u32();
  q.file_id = read_file_id(r);
  q.completion_filter = r.u32();
  r.skip(4);
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = q;
  return NtStatus::SUCCESS;
}

void encode(const ChangeNotifyRequest& q, ByteWriter& w) {
  w.u16(kRequestSize);
  w.u16(q.flags);
  w.u32(q.output_buffer_length);
  write_file_id(w, q.file_id);
  w.u32(q.completion_filter);
  w.u32(0);
}

Bytes encode_file_notify_information(const std::vector<FileNotifyInformation>& entries) {
  Bytes out;
  ByteWriter w(out);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    while (out.size() % 4 != 0) w.u8(0);
    std::size_t start = out.size();
    Bytes name;
    utf8_to_utf16le(entries[i].file_name, name);
    w.u32(0);  // NextEntryOffset, patched below
    w.u32(entries[i].action);
    w.u32(static_cast<std::uint32_t>(name.size()));
    w.bytes(name);
    if (i + 1 < entries.size()) {
      std::size_t next = (out.size() - start + 3) & ~std::size_t{3};
      w.patch_u32(start, static_cast<std::uint32_t>(next));
    }
  }
  return out;
}

NtStatus decode_file_notify_information(ByteSpan buffer, std::vector<FileNotifyInformation>& out,
                                        std::size_t max_entries) {
  std::vector<FileNotifyInformation> entries;
  std::uint64_t at = 0;
  while (!buffer.empty()) {
    if (entries.size() >= max_entries || at + 12 > buffer.size())
      return NtStatus::INVALID_PARAMETER;
    ByteReader r(buffer.subspan(static_cast<std::size_t>(at)));
    std::uint32_t next = r.u32();
    FileNotifyInformation e;
    e.action = r.u32();
    std::uint32_t length = r.u32();
    ByteSpan name = r.bytes(length);
    if (!r.ok() || length % 2 != 0 || !utf16le_to_utf8(name, e.file_name))
      return NtStatus::INVALID_PARAMETER;
    entries.push_back(std::move(e));
    if (next == 0) break;
    if (next % 4 != 0 || next < 12 + std::uint64_t{length}) return NtStatus::INVALID_PARAMETER;
    at += next;
  }
  out = std::move(entries);
  return NtStatus::SUCCESS;
}

NtStatus decode(ByteSpan pdu, ChangeNotifyResponse& out) {
  return body::decode_output_buffer(pdu, out.output);
}
void encode(const ChangeNotifyResponse& p, ByteWriter& w) {
  body::encode_output_buffer(w, p.output);
}

}  // namespace smb
