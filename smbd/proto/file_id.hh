// The 16-byte SMB2_FILEID (MS-SMB2 2.2.14.1) that names an open in most requests.
#pragma once

#include <array>
#include <cstdint>

#include "smbd/base/bytes.hh"

namespace smb {

struct FileId {
  std::uint64_t persistent = 0;
  std::uint64_t volatile_ = 0;
  bool operator==(const FileId&) const = default;
};

// MS-SMB2 3.2.4.1.4: a related operation names "the open of the previous element" with
// all bits set in both halves.
inline constexpr FileId kRelatedFileId{0xFFFFFFFFFFFFFFFFull, 0xFFFFFFFFFFFFFFFFull};

using Guid = std::array<std::uint8_t, 16>;

inline FileId read_file_id(ByteReader& r) {
  FileId id;
  id.persistent = r.u64();
  id.volatile_ = r.u64();
  return id;
}
inline void write_file_id(ByteWriter& w, const FileId& id) {
  w.u64(id.persistent);
  w.u64(id.volatile_);
}
inline Guid read_guid(ByteReader& r) {
  Guid g{};
  r.copy(g);
  return g;
}
inline void write_guid(ByteWriter& w, const Guid& g) { w.bytes(g); }

}  // namespace smb
