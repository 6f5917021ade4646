// Named streams ([MS-FSCC] 2.1.5.1 "file:stream:$DATA"; [MS-FSA] 2.1.1.4 Stream) kept
// the way Samba's vfs_streams_xattr keeps them, so that a share's files carry their
// streams between Samba and this server unchanged:
//   - the stream "name" of a file is its extended attribute "user.DosStream.name:$DATA"
//     (the stream type stays part of the attribute's name);
//   - the value is the stream's data followed by one NUL byte that is not part of it
//     (a Linux attribute cannot be empty): a stream's size is the value's size less
//     one. A value without that last byte has none to spare: the last byte is dropped
//     all the same, as Samba drops it. An empty value is no stream (Samba cannot stat
//     it): it is neither listed nor opened, and creating the stream replaces it;
//   - stream names are matched ignoring case and keep the spelling first stored.
// A stream is at most kMaxStreamSize bytes (the largest attribute Linux stores less
// the NUL); a write beyond it is DISK_FULL, and the file system's own, smaller, limit
// gives its errno's status (errno_map.hh).
// Every call works on the base file's descriptor (O_PATH ones too) as the calling
// thread's user. The decoders are pure and bounded.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/base/unique_fd.hh"
#include "smbd/vfs/file.hh"
#include "smbd/vfs/file_data.hh"
#include "smbd/vfs/xattr.hh"

namespace smb::vfs {

inline constexpr std::string_view kStreamXattrPrefix = "user.DosStream.";
inline constexpr std::string_view kDataStreamType = "$DATA";
inline constexpr std::size_t kMaxStreamSize = kMaxXattrValue - 1;

// An SMB path split at its stream part.
struct StreamPath {
  std::string base;              // the file's path, as the client gave it
  std::string stream;            // the stream's name without type; "" for the main (unnamed) stream
  bool has_stream_part = false;  // the path named a stream, "::$DATA" included
};

// [MS-FSCC] 2.1.5.1: "path", "path:name", "path:name:$DATA" and "path::$DATA" (type
// matched ignoring case). OBJECT_NAME_INVALID for a stream part anywhere but in the last
// component, an empty type ("name:"), a third ':', "path:" and a stream name that is not a valid
// stream name (valid_stream_name); INVALID_PARAMETER for another type ("name:$FOO"), as
// Samba answers.
NtStatus split_stream_path(std::string_view smb_path, StreamPath& out);
// [MS-FSCC] 2.1.5.2: 1 to 255 UTF-16 units of valid UTF-8 without NUL, '/', '\' or ':'
// (control characters and wildcards are allowed in stream names).
bool valid_stream_name(std::string_view name);

// The attribute a stream is kept in.
std::string stream_xattr_name(std::string_view stream);
// The stream an attribute name keeps, false when it keeps none (not the prefix, no
// ":$DATA" type, or a name that is no valid stream name).
bool stream_of_xattr_name(std::string_view xattr_name, std::string& stream);
// The stream's data in an attribute value; false for an empty value (no stream).
bool stream_data_of_value(ByteSpan value, ByteSpan& data);

struct StreamEntry {
  std::string name;  // on-disk spelling, without type; "" for the unnamed data stream
  std::uint64_t size = 0;
  std::uint64_t allocation_size = 0;
};
// The file's named streams, in the order the file system lists them.
NtStatus list_streams(int fd, std::vector<StreamEntry>& out);
// FileStreamInformation's list ([MS-FSCC] 2.4.44): the unnamed data stream of a file (a
// directory has none), then list_streams(). `name` as for query_info.
NtStatus list_all_streams(int fd, std::string_view name, std::vector<StreamEntry>& out);
// The on-disk spelling of `stream` (matched ignoring case) when the file has it.
NtStatus find_stream(int fd, std::string_view stream, std::string& on_disk, bool& exists);
// Creates the stream empty, or empties it (Samba's one NUL byte).
NtStatus create_stream(int fd, std::string_view on_disk);
// Removes the stream; SUCCESS when it is already gone.
NtStatus remove_stream(int fd, std::string_view on_disk);
// Renames `from` to `to` (matched ignoring case): OBJECT_NAME_COLLISION when `to` exists
// and `replace` is false; renaming to the same name (ignoring case) changes nothing.
// `renamed` is the stream's on-disk name afterwards.
NtStatus rename_stream(int fd, std::string_view from, std::string_view to, bool replace,
                       std::string& renamed);
// The stream's size; OBJECT_NAME_NOT_FOUND when it is gone.
NtStatus stream_size(int fd, std::string_view on_disk, std::uint64_t& size);

// What tells a stream's opens from the file's and its other streams' in the open table:
// a hash of the name ignoring case with the top bit set, combined with the file's inode.
std::uint64_t stream_key(std::string_view on_disk);

// query_info() of the file behind `fd`, with the size of `stream` when one is named
// (the times and attributes are the file's, as on Windows and Samba).
NtStatus query_stream_info(int fd, std::string_view name, std::string_view stream, FileInfo& out);

// The data of an open named stream (file_data.hh): every call reads the attribute and
// a change writes it back whole, one change at a time within this process.
class StreamFileData final : public FileData {
 public:
  StreamFileData(std::shared_ptr<UniqueFd> fd, std::string on_disk)
      : fd_(std::move(fd)), xattr_(stream_xattr_name(on_disk)) {}

  const char* mode() const override { return "stream"; }
  bool mapped() const override { return false; }
  NtStatus read(std::uint64_t offset, MutableByteSpan buffer, std::size_t& done) const override;
  bool read_nowait(std::uint64_t, MutableByteSpan, std::size_t&, LoopRead) const override {
    return false;
  }
  NtStatus write(std::uint64_t offset, ByteSpan data, std::size_t& done) override;
  NtStatus append(ByteSpan data, std::size_t& done) override;
  NtStatus flush() override { return NtStatus::SUCCESS; }
  NtStatus set_end_of_file(std::uint64_t end_of_file) override;
  // Nothing to reserve in an attribute; less than the size truncates.
  NtStatus set_allocation_size(std::uint64_t allocation_size) override;

 private:
  NtStatus load(Bytes& data) const;
  NtStatus store(const Bytes& data);

  std::shared_ptr<UniqueFd> fd_;
  std::string xattr_;
  std::mutex mutex_;
};

}  // namespace smb::vfs
