#include "smbd/proto/fsctl.hh"

namespace smb {

NtStatus decode_set_sparse(ByteSpan input, bool& sparse) {
  sparse = input.empty() || input[0] != 0;
  return NtStatus::SUCCESS;
}

NtStatus decode_fsctl(ByteSpan input, FileZeroDataInformation& out) {
  ByteReader r(input);
  FileZeroDataInformation z;
  z.file_offset = static_cast<std::int64_t>(r.u64());
  z.beyond_final_zero = static_cast<std::int64_t>(r.u64());
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = z;
  return NtStatus::SUCCESS;
}

Bytes encode_fsctl(const FileZeroDataInformation& in) {
  Bytes out;
  ByteWriter w(out);
  w.u64(static_cast<std::uint64_t>(in.file_offset));
  w.u64(static_cast<std::uint64_t>(in.beyond_final_zero));
  return out;
}

NtStatus decode_fsctl(ByteSpan input, FileAllocatedRange& out) {
  ByteReader r(input);
  FileAllocatedRange a;
  a.file_offset = static_cast<std::int64_t>(r.u64());
  a.length = static_cast<std::int64_t>(r.u64());
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = a;
  return NtStatus::SUCCESS;
}

Bytes encode_fsctl(const FileAllocatedRange& in) { return encode_allocated_ranges({in}); }

Bytes encode_allocated_ranges(const std::vector<FileAllocatedRange>& ranges) {
  Bytes out;
  out.reserve(ranges.size() * kAllocatedRangeSize);
  ByteWriter w(out);
  for (const auto& a : ranges) {
    w.u64(static_cast<std::uint64_t>(a.file_offset));
    w.u64(static_cast<std::uint64_t>(a.length));
  }
  return out;
}

NtStatus decode_allocated_ranges(ByteSpan output, std::vector<FileAllocatedRange>& out) {
  out.clear();
  if (output.size() % kAllocatedRangeSize != 0) return NtStatus::INVALID_PARAMETER;
  ByteReader r(output);
  out.reserve(output.size() / kAllocatedRangeSize);
  while (r.remaining() > 0) {
    FileAllocatedRange a;
    a.file_offset = static_cast<std::int64_t>(r.u64());
    a.length = static_cast<std::int64_t>(r.u64());
    out.push_back(a);
  }
  return r.ok() ? NtStatus::SUCCESS : NtStatus::INVALID_PARAMETER;
}

NtStatus decode_fsctl(ByteSpan buffer, FileObjectIdBuffer& out) {
  ByteReader r(buffer);
  FileObjectIdBuffer b;
  r.copy(b.object_id);
  r.copy(b.birth_volume_id);
  r.copy(b.birth_object_id);
  r.copy(b.domain_id);
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = b;
  return NtStatus::SUCCESS;
}

Bytes encode_fsctl(const FileObjectIdBuffer& in) {
  Bytes out;
  out.reserve(kObjectIdBufferSize);
  ByteWriter w(out);
  w.bytes(in.object_id);
  w.bytes(in.birth_volume_id);
  w.bytes(in.birth_object_id);
  w.bytes(in.domain_id);
  return out;
}

NtStatus decode_fsctl(ByteSpan input, DuplicateExtentsData& out) {
  ByteReader r(input);
  DuplicateExtentsData d;
  d.source = read_file_id(r);
  d.source_file_offset = static_cast<std::int64_t>(r.u64());
  d.target_file_offset = static_cast<std::int64_t>(r.u64());
  d.byte_count = static_cast<std::int64_t>(r.u64());
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out = d;
  return NtStatus::SUCCESS;
}

Bytes encode_fsctl(const DuplicateExtentsData& in) {
  Bytes out;
  out.reserve(kDuplicateExtentsDataSize);
  ByteWriter w(out);
  write_file_id(w, in.source);
  w.u64(static_cast<std::uint64_t>(in.source_file_offset));
  w.u64(static_cast<std::uint64_t>(in.target_file_offset));
  w.u64(static_cast<std::uint64_t>(in.byte_count));
  return out;
}

}  // namespace smb
