// libFuzzer target for the [MS-FSCC] structures of smb_proto (proto/fscc.hh): the
// SET_INFO input buffer decoders, a whole SET_INFO request dispatched by its class as the
// server does, and the directory-entry writer fed with arbitrary names. The first input
// byte selects (mod 11):
//   0 FileBasicInformation      1 FileRenameInformation   2 FileDispositionInformation
//   3 FileDispositionInformationEx  4 FileEndOfFileInformation  5 FileAllocationInformation
//   6 FilePositionInformation   7 FileModeInformation     8 FileFullEaInformation list
//     (decoded, encoded and decoded again; and as a FILE_GET_EA_INFORMATION list)
//   9 SET_INFO request (64-byte header and body) -> the decoder of its class
//  10 DirectoryEntryWriter: class, max_bytes (u16), then entries (name length u8, name,
//     12 bytes of numbers) until the input ends
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "smbd/proto/fscc.hh"
#include "smbd/proto/set_info.hh"

using namespace smb;
using namespace smb::fscc;

namespace {

template <typename T>
NtStatus run(ByteSpan in) {
  T out;
  return decode(in, out);
}

void basic(ByteSpan in) {
  FileBasicInformation v;
  if (decode(in, v) != NtStatus::SUCCESS) return;
  ByteWriter w;
  encode(v, w);
  FileBasicInformation again;
  if (w.size() != kFileBasicInformationSize || decode(w.buffer(), again) != NtStatus::SUCCESS ||
      again.creation_time != v.creation_time || again.last_access_time != v.last_access_time ||
      again.last_write_time != v.last_write_time || again.change_time != v.change_time ||
      again.file_attributes != v.file_attributes)
    __builtin_trap();
}

void position(ByteSpan in) {
  FilePositionInformation v;
  if (decode(in, v) != NtStatus::SUCCESS) return;
  ByteWriter w;
  encode(v, w);
  FilePositionInformation again;
  if (decode(w.buffer(), again) != NtStatus::SUCCESS ||
      again.current_byte_offset != v.current_byte_offset)
    __builtin_trap();
}

void mode(ByteSpan in) {
  FileModeInformation v;
  if (decode(in, v) != NtStatus::SUCCESS) return;
  if ((v.mode & ~file_mode::kValidMask) != 0) __builtin_trap();
  ByteWriter w;
  encode(v, w);
  FileModeInformation again;
  if (decode(w.buffer(), again) != NtStatus::SUCCESS || again.mode != v.mode) __builtin_trap();
}

void ea_list(ByteSpan in) {
  std::vector<FileFullEaEntry> entries;
  if (decode(in, entries) != NtStatus::SUCCESS) return;
  std::size_t total = 0;
  for (const FileFullEaEntry& e : entries) total += e.ea_name.size() + e.ea_value.size();
  // Every name and value came out of the buffer.
  if (total > in.size()) __builtin_trap();
  // What decodes encodes to a list that decodes to the same entries.
  ByteWriter w;
  encode(entries, w);
  std::vector<FileFullEaEntry> again;
  if (decode(w.buffer(), again) != NtStatus::SUCCESS || again.size() != entries.size())
    __builtin_trap();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (again[i].ea_name != entries[i].ea_name || again[i].ea_value != entries[i].ea_value)
      __builtin_trap();
  }
}

// The same bytes as a FILE_GET_EA_INFORMATION list (a QUERY_INFO's input).
void get_ea_list(ByteSpan in) {
  std::vector<std::string> names;
  if (decode_get_ea_list(in, names) != NtStatus::SUCCESS) return;
  // Each entry takes at least 6 bytes: a list cannot hold more names than that allows.
  if (names.size() * 6 > in.size()) __builtin_trap();
}

void by_class(std::uint8_t cls, ByteSpan in) {
  switch (static_cast<FileInfoClass>(cls)) {
    case FileInfoClass::FileBasicInformation: basic(in); break;
    case FileInfoClass::FileRenameInformation:
    case FileInfoClass::FileRenameInformationEx: (void)run<FileRenameInformation>(in); break;
    case FileInfoClass::FileDispositionInformation:
      (void)run<FileDispositionInformation>(in);
      break;
    case FileInfoClass::FileDispositionInformationEx:
      (void)run<FileDispositionInformationEx>(in);
      break;
    case FileInfoClass::FileEndOfFileInformation: (void)run<FileEndOfFileInformation>(in); break;
    case FileInfoClass::FileAllocationInformation:
      (void)run<FileAllocationInformation>(in);
      break;
    case FileInfoClass::FilePositionInformation: position(in); break;
    case FileInfoClass::FileModeInformation: mode(in); break;
    case FileInfoClass::FileFullEaInformation:
      ea_list(in);
      get_ea_list(in);
      break;
    default: break;
  }
}

void set_info_request(ByteSpan pdu) {
  SetInfoRequest req;
  if (decode(pdu, req) != NtStatus::SUCCESS) return;
  if (req.info_type == InfoType::SMB2_0_INFO_FILE) by_class(req.file_info_class, req.buffer);
}

void directory_writer(ByteSpan in) {
  static constexpr FileInfoClass kClasses[] = {
      FileInfoClass::FileDirectoryInformation,       FileInfoClass::FileFullDirectoryInformation,
      FileInfoClass::FileBothDirectoryInformation,   FileInfoClass::FileNamesInformation,
      FileInfoClass::FileIdBothDirectoryInformation, FileInfoClass::FileIdFullDirectoryInformation,
      FileInfoClass::FileIdExtdDirectoryInformation};
  ByteReader r(in);
  const FileInfoClass cls = kClasses[r.u8() % std::size(kClasses)];
  const std::size_t max_bytes = r.u16();
  if (!r.ok() || !is_directory_class(cls)) return;
  ByteWriter w;
  w.zeros(8);  // the buffer need not start at offset 0 of the writer
  DirectoryEntryWriter writer(w, cls, max_bytes);
  std::size_t appended = 0;
  while (r.remaining() > 0) {
    const std::uint8_t name_length = r.u8();
    ByteSpan name = r.bytes(std::min<std::size_t>(name_length, r.remaining()));
    DirectoryEntry e;
    e.file_name.assign(name.begin(), name.end());
    e.short_name = e.file_name.substr(0, name_length % 13);
    e.end_of_file = r.u32();
    e.file_attributes = r.u32();
    e.file_id = r.u32();
    if (!writer.append(e)) break;
    ++appended;
  }
  if (writer.count() != appended || writer.size() > max_bytes || w.size() != 8 + writer.size())
    __builtin_trap();
  // The NextEntryOffset chain stays inside the buffer and visits every entry.
  ByteSpan out = ByteSpan(w.buffer()).subspan(8);
  std::size_t at = 0, seen = 0;
  while (seen < appended) {
    if (at + directory_entry_fixed_size(cls) > out.size()) __builtin_trap();
    ++seen;
    const std::uint32_t next = load_le32(&out[at]);
    if (next == 0) break;
    if (next % 8 != 0) __builtin_trap();
    at += next;
  }
  if (seen != appended) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // An exact-size copy, so that any read past the end is caught.
  const std::vector<std::uint8_t> copy(data + 1, data + size);
  const ByteSpan in(copy);
  switch (data[0] % 11) {
    case 0: by_class(4, in); break;
    case 1: by_class(10, in); break;
    case 2: by_class(13, in); break;
    case 3: by_class(64, in); break;
    case 4: by_class(20, in); break;
    case 5: by_class(19, in); break;
    case 6: by_class(14, in); break;
    case 7: by_class(16, in); break;
    case 8: by_class(15, in); break;
    case 9: set_info_request(in); break;
    default: directory_writer(in); break;
  }
  return 0;
}
