// The MS-FSA read and write rules (smbd/fsa/read_write.hh) on a real file: what is refused
// before any byte moves, where a WRITE lands, and what a READ's count and the position
// become.
#include "smbd/fsa/read_write.hh"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "smbd/base/unique_fd.hh"
#include "smbd/base/wire.hh"

using namespace smb;
using namespace smb::fsa;

namespace {

constexpr std::uint64_t kAllOnes = ~std::uint64_t{0};
constexpr std::uint64_t kMaxLongLong = 0x7FFFFFFFFFFFFFFFull;
constexpr std::uint64_t kMaxFileSize = 0xFFFFFFF0000ull;
constexpr std::uint32_t kReadWrite = access_mask::FILE_READ_DATA | access_mask::FILE_WRITE_DATA;
constexpr std::uint32_t kAppendOnly = access_mask::FILE_READ_DATA | access_mask::FILE_APPEND_DATA;

// A file of a POSIX share with its data path, removed at the end.
struct File {
  std::filesystem::path path;
  std::shared_ptr<vfs::FileIo> io;

  File() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fsa_rw.XXXXXX").string();
    int fd = ::mkstemp(tmpl.data());
    REQUIRE(fd >= 0);
    path = tmpl;
    REQUIRE(vfs::FileIo::open(std::make_shared<UniqueFd>(fd), true, vfs::Backend::posix, io) ==
            NtStatus::SUCCESS);
  }
  ~File() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  DataOpen open(std::uint32_t access) const { return {.granted_access = access, .io = io.get()}; }
  Bytes put(std::uint64_t offset, const std::string& text) {
    std::size_t done = 0;
    ByteSpan data(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
    REQUIRE(io->write(offset, data, done) == NtStatus::SUCCESS);
    return Bytes(text.begin(), text.end());
  }
  std::uint64_t size() const { return std::filesystem::file_size(path); }
};

}  // namespace

TEST_CASE("read rules: signed range, directory, access, a data path") {
  CHECK(check_read_range(0, 0) == NtStatus::SUCCESS);
  CHECK(check_read_range(kMaxLongLong, 0) == NtStatus::SUCCESS);
  // MS-FSA 2.1.5.3: ByteOffset + ByteCount may reach MAXLONGLONG, not pass it.
  CHECK(check_read_range(kMaxLongLong - 10, 10) == NtStatus::SUCCESS);
  CHECK(check_read_range(kMaxLongLong - 9, 10) == NtStatus::INVALID_PARAMETER);
  CHECK(check_read_range(kMaxLongLong + 1, 0) == NtStatus::INVALID_PARAMETER);
  CHECK(check_read_range(kAllOnes, 1) == NtStatus::INVALID_PARAMETER);

  File f;
  CHECK(check_read(f.open(access_mask::FILE_READ_DATA)) == NtStatus::SUCCESS);
  CHECK(check_read(f.open(access_mask::FILE_EXECUTE)) == NtStatus::SUCCESS);
  CHECK(check_read(f.open(access_mask::FILE_WRITE_DATA)) == NtStatus::ACCESS_DENIED);
  DataOpen directory = f.open(access_mask::FILE_READ_DATA);
  directory.is_directory = true;
  CHECK(check_read(directory) == NtStatus::INVALID_DEVICE_REQUEST);
  DataOpen without_data{.granted_access = access_mask::FILE_READ_DATA};
  CHECK(check_read(without_data) == NtStatus::INVALID_DEVICE_REQUEST);
}

TEST_CASE("write rules: all ones is the end only for an append-only open") {
  File f;
  WritePosition where;
  CHECK(check_write(f.open(kReadWrite), kAllOnes, 10, where) == NtStatus::INVALID_PARAMETER);
  CHECK(check_write(f.open(kReadWrite), kAllOnes, 0, where) == NtStatus::INVALID_PARAMETER);
  REQUIRE(check_write(f.open(kAppendOnly), kAllOnes, 10, where) == NtStatus::SUCCESS);
  CHECK(where.at_end);
  // An append-only open adds at the end wherever it asks to write.
  REQUIRE(check_write(f.open(kAppendOnly), 3, 10, where) == NtStatus::SUCCESS);
  CHECK(where.at_end);
  REQUIRE(check_write(f.open(kReadWrite), 3, 10, where) == NtStatus::SUCCESS);
  CHECK_FALSE(where.at_end);
  CHECK(where.offset == 3);
}

TEST_CASE("write rules: signed offsets, MAXFILESIZE, DISK_FULL, access, directory") {
  File f;
  WritePosition where;
  CHECK(check_write(f.open(kReadWrite), kMaxLongLong + 1, 1, where) == NtStatus::INVALID_PARAMETER);
  CHECK(check_write(f.open(kReadWrite), kMaxLongLong - 5, 10, where) ==
        NtStatus::INVALID_PARAMETER);
  CHECK(check_write(f.open(kReadWrite), kMaxFileSize, 1, where) == NtStatus::INVALID_PARAMETER);
  CHECK(check_write(f.open(kReadWrite), kMaxFileSize - 5, 10, where) == NtStatus::DISK_FULL);
  CHECK(check_write(f.open(kReadWrite), kMaxFileSize - 11, 10, where) == NtStatus::SUCCESS);
  // Nothing written: only the offset's sign counts.
  CHECK(check_write(f.open(kReadWrite), kMaxFileSize, 0, where) == NtStatus::SUCCESS);
  CHECK(check_write(f.open(access_mask::FILE_READ_DATA), 0, 1, where) == NtStatus::ACCESS_DENIED);
  DataOpen read_only_share = f.open(kReadWrite);
  read_only_share.read_only_share = true;
  CHECK(check_write(read_only_share, 0, 1, where) == NtStatus::ACCESS_DENIED);
  DataOpen directory = f.open(kReadWrite);
  directory.is_directory = true;
  // A directory is refused before its offset is looked at.
  CHECK(check_write(directory, kAllOnes, 1, where) == NtStatus::INVALID_DEVICE_REQUEST);
}

TEST_CASE("write I/O: at the offset or at the end, and the position after it") {
  File f;
  f.put(0, "0123456789");
  WritePosition where;
  REQUIRE(check_write(f.open(kReadWrite), 4, 3, where) == NtStatus::SUCCESS);
  std::string abc = "abc";
  std::size_t done = 0;
  ByteSpan data(reinterpret_cast<const std::uint8_t*>(abc.data()), abc.size());
  REQUIRE(write(*f.io, where, data, done) == NtStatus::SUCCESS);
  CHECK(done == 3);
  CHECK(position_after_write(where, done) == 7);

  REQUIRE(check_write(f.open(kAppendOnly), kAllOnes, 3, where) == NtStatus::SUCCESS);
  REQUIRE(write(*f.io, where, data, done) == NtStatus::SUCCESS);
  CHECK_FALSE(position_after_write(where, done).has_value());
  CHECK(f.size() == 13);
  Bytes all(13);
  REQUIRE(read(*f.io, 0, all, done) == NtStatus::SUCCESS);
  CHECK(std::string(all.begin(), all.end()) == "0123abc789abc");
}

TEST_CASE("read I/O: short at the end, END_OF_FILE past it, MinimumCount") {
  File f;
  f.put(0, std::string(100, 'x'));
  Bytes into(100);
  std::size_t done = 0;
  REQUIRE(read(*f.io, 50, into, done) == NtStatus::SUCCESS);
  CHECK(done == 50);
  CHECK(check_read_count(done, 100, 0) == NtStatus::SUCCESS);
  CHECK(check_read_count(done, 100, 50) == NtStatus::SUCCESS);
  CHECK(check_read_count(done, 100, 51) == NtStatus::END_OF_FILE);
  CHECK(position_after_read(50, done) == 100);
  CHECK(read(*f.io, 100, into, done) == NtStatus::END_OF_FILE);
  // Nothing asked, nothing read: not the end of the file.
  CHECK(check_read_count(0, 0, 0) == NtStatus::SUCCESS);
  CHECK(check_read_count(0, 10, 0) == NtStatus::END_OF_FILE);
}
