// libFuzzer target for named streams kept as Samba's vfs_streams_xattr keeps them
// (vfs/streams.hh): the pure decoders of a file's attribute names and values and of the
// stream part of an SMB path. The first byte picks what the rest is:
//   0  an attribute name as a file's list could hold it: a name that keeps a stream
//      gives a valid stream name whose attribute name keeps the same stream again;
//   1  an attribute value: the data is the value less its last byte, never more;
//   2  an SMB path (UTF-8) as a CREATE names it: what splits has a base without ':' and
//      a stream that is empty or valid, whose attribute name round-trips.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smbd/vfs/streams.hh"

using namespace smb;
using namespace smb::vfs;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void round_trip(const std::string& stream) {
  check(valid_stream_name(stream));
  std::string again;
  check(stream_of_xattr_name(stream_xattr_name(stream), again));
  check(again == stream);
  check((stream_key(stream) >> 63) == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: {
      std::string stream;
      if (stream_of_xattr_name(text, stream)) {
        check(text.substr(0, kStreamXattrPrefix.size()) == kStreamXattrPrefix);
        round_trip(stream);
      }
      break;
    }
    case 1: {
      ByteSpan value(data + 1, size - 1);
      ByteSpan stream_data;
      if (stream_data_of_value(value, stream_data)) {
        check(!value.empty() && stream_data.size() == value.size() - 1);
        check(stream_data.data() == value.data());
      } else {
        check(value.empty());
      }
      break;
    }
    case 2: {
      StreamPath path;
      if (split_stream_path(text, path) != NtStatus::SUCCESS) break;
      check(path.base.find(':') == std::string::npos);
      check(path.has_stream_part || path.stream.empty());
      if (!path.stream.empty()) round_trip(path.stream);
      break;
    }
  }
  return 0;
}
