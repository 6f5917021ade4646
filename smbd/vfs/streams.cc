#include "smbd/vfs/streams.hh"

#include <fcntl.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>

#include "smbd/base/errno_map.hh"
#include "smbd/vfs/names.hh"

namespace smb::vfs {

namespace {

bool iequals_ascii(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The value of `name`, at most kMaxXattrValue bytes; ENODATA as OBJECT_NAME_NOT_FOUND.
NtStatus read_value(int fd, const std::string& name, Bytes& out) {
  out.resize(kMaxXattrValue);
  const ssize_t n = xattr_get(fd, name.c_str(), out.data(), out.size());
  if (n < 0) {
    out.clear();
    return errno == ENODATA ? NtStatus::OBJECT_NAME_NOT_FOUND : last_error();
  }
  out.resize(static_cast<std::size_t>(n));
  return NtStatus::SUCCESS;
}

// The names of the file's streams as stored (spelling on disk).
NtStatus stream_names(int fd, std::vector<std::string>& out) {
  out.clear();
  std::vector<std::string> names;
  auto is_stream = [](std::string_view name) {
    return name.size() > kStreamXattrPrefix.size() &&
           name.substr(0, kStreamXattrPrefix.size()) == kStreamXattrPrefix;
  };
  if (NtStatus st = xattr_names(fd, names, is_stream); st != NtStatus::SUCCESS) return st;
  for (const std::string& name : names) {
    std::string stream;
    if (stream_of_xattr_name(name, stream)) out.push_back(std::move(stream));
  }
  return NtStatus::SUCCESS;
}

}  // namespace

bool valid_stream_name(std::string_view name) {
  if (name.empty()) return false;
  std::u32string cps;
  if (!decode_utf8(name, cps)) return false;
  for (char32_t c : cps) {
    if (c == 0 || c == '/' || c == '\\' || c == ':') return false;
  }
  return utf16_length(name) <= kMaxComponentUtf16;
}

NtStatus split_stream_path(std::string_view smb_path, StreamPath& out) {
  out = StreamPath{};
  const std::size_t colon = smb_path.find(':');
  if (colon == std::string_view::npos) {
    out.base = std::string(smb_path);
    return NtStatus::SUCCESS;
  }
  std::string_view rest = smb_path.substr(colon + 1);
  // Only the last component may name a stream.
  if (rest.find('\\') != std::string_view::npos || rest.find('/') != std::string_view::npos)
    return NtStatus::OBJECT_NAME_INVALID;
  out.has_stream_part = true;
  out.base = std::string(smb_path.substr(0, colon));
  std::string_view name = rest;
  const std::size_t type_colon = rest.find(':');
  if (type_colon != std::string_view::npos) {
    name = rest.substr(0, type_colon);
    const std::string_view type = rest.substr(type_colon + 1);
    // "name:" and a third ':' make an invalid name; another type than $DATA is a
    // parameter this server has no stream for (Samba answers each so).
    if (type.empty() || type.find(':') != std::string_view::npos)
      return NtStatus::OBJECT_NAME_INVALID;
    if (!iequals_ascii(type, kDataStreamType)) return NtStatus::INVALID_PARAMETER;
  } else if (name.empty()) {
    return NtStatus::OBJECT_NAME_INVALID;  // "path:"
  }
  if (!name.empty() && !valid_stream_name(name)) return NtStatus::OBJECT_NAME_INVALID;
  out.stream = std::string(name);
  return NtStatus::SUCCESS;
}

std::string stream_xattr_name(std::string_view stream) {
  std::string name(kStreamXattrPrefix);
  name += stream;
  name += ':';
  name += kDataStreamType;
  return name;
}

bool stream_of_xattr_name(std::string_view xattr_name, std::string& stream) {
  if (xattr_name.size() <= kStreamXattrPrefix.size() ||
      xattr_name.substr(0, kStreamXattrPrefix.size()) != kStreamXattrPrefix)
    return false;
  std::string_view rest = xattr_name.substr(kStreamXattrPrefix.size());
  const std::size_t colon = rest.find(':');
  if (colon == std::string_view::npos || !iequals_ascii(rest.substr(colon + 1), kDataStreamType))
    return false;
  const std::string_view name = rest.substr(0, colon);
  if (!valid_stream_name(name)) return false;
  stream = std::string(name);
  return true;
}

bool stream_data_of_value(ByteSpan value, ByteSpan& data) {
  if (value.empty()) return false;
  data = value.first(value.size() - 1);
  return true;
}

NtStatus list_streams(int fd, std::vector<StreamEntry>& out) {
  out.clear();
  std::vector<std::string> names;
  if (NtStatus st = stream_names(fd, names); st != NtStatus::SUCCESS) return st;
  for (std::string& name : names) {
    std::uint64_t size = 0;
    if (stream_size(fd, name, size) != NtStatus::SUCCESS) continue;  // gone, or empty
    out.push_back(StreamEntry{std::move(name), size, size});
  }
  return NtStatus::SUCCESS;
}

NtStatus list_all_streams(int fd, std::string_view name, std::vector<StreamEntry>& out) {
  out.clear();
  FileInfo info;
  if (NtStatus st = query_info(fd, name, info); st != NtStatus::SUCCESS) return st;
  std::vector<StreamEntry> named;
  if (NtStatus st = list_streams(fd, named); st != NtStatus::SUCCESS) return st;
  if (!info.is_directory) out.push_back(StreamEntry{"", info.end_of_file, info.allocation_size});
  out.insert(out.end(), named.begin(), named.end());
  return NtStatus::SUCCESS;
}

NtStatus find_stream(int fd, std::string_view stream, std::string& on_disk, bool& exists) {
  exists = false;
  on_disk = std::string(stream);
  std::vector<std::string> names;
  if (NtStatus st = stream_names(fd, names); st != NtStatus::SUCCESS) return st;
  for (const std::string& name : names) {
    if (!names_equal_ci(name, stream)) continue;
    on_disk = name;
    std::uint64_t size = 0;
    exists = stream_size(fd, name, size) == NtStatus::SUCCESS;
    return NtStatus::SUCCESS;
  }
  return NtStatus::SUCCESS;
}

NtStatus create_stream(int fd, std::string_view on_disk) {
  const std::uint8_t nul = 0;
  if (xattr_set(fd, stream_xattr_name(on_disk).c_str(), &nul, 1) != 0) return last_error();
  return NtStatus::SUCCESS;
}

NtStatus remove_stream(int fd, std::string_view on_disk) {
  if (xattr_remove(fd, stream_xattr_name(on_disk).c_str()) != 0 && errno != ENODATA)
    return last_error();
  return NtStatus::SUCCESS;
}

NtStatus rename_stream(int fd, std::string_view from, std::string_view to, bool replace,
                       std::string& renamed) {
  std::string source;
  bool source_exists = false;
  if (NtStatus st = find_stream(fd, from, source, source_exists); st != NtStatus::SUCCESS)
    return st;
  if (!source_exists) return NtStatus::OBJECT_NAME_NOT_FOUND;
  renamed = source;
  if (names_equal_ci(from, to)) return NtStatus::SUCCESS;
  std::string target;
  bool target_exists = false;
  if (NtStatus st = find_stream(fd, to, target, target_exists); st != NtStatus::SUCCESS) return st;
  if (target_exists && !replace) return NtStatus::OBJECT_NAME_COLLISION;
  if (!target_exists) target = std::string(to);
  Bytes value;
  if (NtStatus st = read_value(fd, stream_xattr_name(source), value); st != NtStatus::SUCCESS)
    return st;
  if (xattr_set(fd, stream_xattr_name(target).c_str(), value.data(), value.size()) != 0)
    return last_error();
  renamed = target;
  return remove_stream(fd, source);
}

NtStatus stream_size(int fd, std::string_view on_disk, std::uint64_t& size) {
  Bytes value;
  if (NtStatus st = read_value(fd, stream_xattr_name(on_disk), value); st != NtStatus::SUCCESS)
    return st;
  ByteSpan data;
  if (!stream_data_of_value(value, data)) return NtStatus::OBJECT_NAME_NOT_FOUND;
  size = data.size();
  return NtStatus::SUCCESS;
}

std::uint64_t stream_key(std::string_view on_disk) {
  std::u32string cps;
  if (!decode_utf8(on_disk, cps)) cps.assign(on_disk.begin(), on_disk.end());
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a
  for (char32_t c : cps) {
    hash ^= static_cast<std::uint64_t>(nt_upcase(c));
    hash *= 0x100000001b3ULL;
  }
  return hash | (std::uint64_t{1} << 63);
}

NtStatus query_stream_info(int fd, std::string_view name, std::string_view stream, FileInfo& out) {
  if (NtStatus st = query_info(fd, name, out); st != NtStatus::SUCCESS) return st;
  if (stream.empty()) return NtStatus::SUCCESS;
  std::uint64_t size = 0;
  if (NtStatus st = stream_size(fd, stream, size); st != NtStatus::SUCCESS) return st;
  out.end_of_file = size;
  out.allocation_size = size;
  out.is_directory = false;
  out.file_attributes &= ~file_attribute::FILE_ATTRIBUTE_DIRECTORY;
  if (out.file_attributes == 0) out.file_attributes = file_attribute::FILE_ATTRIBUTE_NORMAL;
  return NtStatus::SUCCESS;
}

NtStatus StreamFileData::load(Bytes& data) const {
  if (NtStatus st = read_value(fd_->get(), xattr_, data); st != NtStatus::SUCCESS) return st;
  // An empty value (written by someone else) holds no data.
  if (!data.empty()) data.pop_back();
  return NtStatus::SUCCESS;
}

NtStatus StreamFileData::store(const Bytes& data) {
  Bytes value(data);
  value.push_back(0);
  if (xattr_set(fd_->get(), xattr_.c_str(), value.data(), value.size()) != 0) {
    // The attribute is larger than the file system takes.
    if (errno == E2BIG || errno == ERANGE) return NtStatus::DISK_FULL;
    return last_error();
  }
  return NtStatus::SUCCESS;
}

NtStatus StreamFileData::read(std::uint64_t offset, MutableByteSpan buffer,
                              std::size_t& done) const {
  done = 0;
  Bytes data;
  if (NtStatus st = load(data); st != NtStatus::SUCCESS) return st;
  if (offset >= data.size()) return buffer.empty() ? NtStatus::SUCCESS : NtStatus::END_OF_FILE;
  done = std::min<std::size_t>(buffer.size(), data.size() - offset);
  std::memcpy(buffer.data(), data.data() + offset, done);
  return NtStatus::SUCCESS;
}

namespace {

// A change of a stream reads its attribute, changes it and writes it back. Two opens of one
// file, in one worker or in two, must not interleave there, or one change is lost: each
// change holds an open file description lock on one byte far beyond any data (locks of
// other descriptions exclude each other across processes; the threads of one open are
// ordered by its mutex). A descriptor that cannot take the lock (opened for attributes
// only) cannot reach here for a change.
class StreamChangeLock {
 public:
  explicit StreamChangeLock(int fd) : fd_(fd) {
    struct flock range = region(F_WRLCK);
    while (::fcntl(fd_, F_OFD_SETLKW, &range) != 0) {
      if (errno != EINTR) {
        fd_ = -1;
        break;
      }
    }
  }
  ~StreamChangeLock() {
    if (fd_ < 0) return;
    struct flock range = region(F_UNLCK);
    (void)::fcntl(fd_, F_OFD_SETLK, &range);
  }
  StreamChangeLock(const StreamChangeLock&) = delete;
  StreamChangeLock& operator=(const StreamChangeLock&) = delete;

 private:
  static struct flock region(short type) {
    struct flock range {};
    range.l_type = type;
    range.l_whence = SEEK_SET;
    range.l_start = std::numeric_limits<off_t>::max() - 1;
    range.l_len = 1;
    return range;
  }
  int fd_;
};

}  // namespace

NtStatus StreamFileData::write(std::uint64_t offset, ByteSpan data, std::size_t& done) {
  done = 0;
  if (offset > kMaxStreamSize || data.size() > kMaxStreamSize - offset) return NtStatus::DISK_FULL;
  std::lock_guard lock(mutex_);
  StreamChangeLock change(fd_->get());
  Bytes current;
  if (NtStatus st = load(current); st != NtStatus::SUCCESS) return st;
  if (current.size() < offset + data.size()) current.resize(offset + data.size());
  std::copy(data.begin(), data.end(), current.begin() + static_cast<std::ptrdiff_t>(offset));
  if (NtStatus st = store(current); st != NtStatus::SUCCESS) return st;
  done = data.size();
  return NtStatus::SUCCESS;
}

NtStatus StreamFileData::append(ByteSpan data, std::size_t& done) {
  done = 0;
  std::lock_guard lock(mutex_);
  StreamChangeLock change(fd_->get());
  Bytes current;
  if (NtStatus st = load(current); st != NtStatus::SUCCESS) return st;
  if (data.size() > kMaxStreamSize - current.size()) return NtStatus::DISK_FULL;
  current.insert(current.end(), data.begin(), data.end());
  if (NtStatus st = store(current); st != NtStatus::SUCCESS) return st;
  done = data.size();
  return NtStatus::SUCCESS;
}

NtStatus StreamFileData::set_end_of_file(std::uint64_t end_of_file) {
  if (end_of_file > kMaxStreamSize) return NtStatus::DISK_FULL;
  std::lock_guard lock(mutex_);
  StreamChangeLock change(fd_->get());
  Bytes current;
  if (NtStatus st = load(current); st != NtStatus::SUCCESS) return st;
  current.resize(end_of_file);
  return store(current);
}

NtStatus StreamFileData::set_allocation_size(std::uint64_t allocation_size) {
  std::lock_guard lock(mutex_);
  StreamChangeLock change(fd_->get());
  Bytes current;
  if (NtStatus st = load(current); st != NtStatus::SUCCESS) return st;
  if (allocation_size >= current.size()) return NtStatus::SUCCESS;
  current.resize(allocation_size);
  return store(current);
}

}  // namespace smb::vfs
