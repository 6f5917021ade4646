#include "smbd/fsa/backend.hh"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "pmem/mapped_file.hh"
#include "pmem/mapped_file_data.hh"
#include "smbd/vfs/file_data.hh"
#include "smbd/vfs/share.hh"
#include "test_dir.hh"

using smb::ByteSpan;
using smb::MutableByteSpan;
using smb::NtStatus;
using smb::UniqueFd;
using namespace smb::vfs;
using smb::vfs::test::TestDir;

namespace {

struct Fixture {
  TestDir dir;
  Share share;
  explicit Fixture(Backend backend = Backend::pmem) {
    std::string error;
    REQUIRE(Share::open(dir.root().string(), share, &error, backend) == NtStatus::SUCCESS);
  }

  // CREATE as the SMB layer does it: through the share, then the backend's data path.
  std::shared_ptr<FileData> open(const std::string& name, CreateDisposition disposition,
                                 std::uint32_t access = access_mask::FILE_READ_DATA |
                                                        access_mask::FILE_WRITE_DATA) {
    OpenRequest request;
    request.desired_access = access;
    request.create_disposition = disposition;
    request.defer_truncate = share.backend() == Backend::pmem;
    OpenResult result;
    REQUIRE(share.open(name, request, result) == NtStatus::SUCCESS);
    std::shared_ptr<FileData> io;
    REQUIRE(smb::fsa::open_file_data(std::make_shared<UniqueFd>(std::move(result.fd)),
                                     result.writable, share.backend(), io) == NtStatus::SUCCESS);
    if (result.create_action == CreateAction::FILE_OVERWRITTEN ||
        result.create_action == CreateAction::FILE_SUPERSEDED) {
      REQUIRE(io->set_end_of_file(0) == NtStatus::SUCCESS);
    }
    return io;
  }

  std::uint64_t size_on_disk(const std::string& name) const {
    return std::filesystem::file_size(dir.root() / name);
  }
};

// The shared mapping behind a pmem file's data, or null for any other backend.
const smb::pmem::MappedFile* mapping(const std::shared_ptr<FileData>& data) {
  auto mapped = std::dynamic_pointer_cast<smb::pmem::MappedFileData>(data);
  return mapped ? &mapped->mapping() : nullptr;
}

std::string read_all(const FileData& io, std::size_t max = 1 << 16) {
  std::string out(max, '\0');
  std::size_t done = 0;
  NtStatus s = io.read(0, MutableByteSpan(reinterpret_cast<std::uint8_t*>(out.data()), max), done);
  if (s == NtStatus::END_OF_FILE) return {};
  REQUIRE(s == NtStatus::SUCCESS);
  out.resize(done);
  return out;
}

NtStatus write_str(FileData& io, std::uint64_t offset, const std::string& s) {
  std::size_t done = 0;
  NtStatus status =
      io.write(offset, ByteSpan(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()), done);
  if (status == NtStatus::SUCCESS) CHECK(done == s.size());
  return status;
}

}  // namespace

TEST_CASE("file_data: a pmem share maps its files, and every open of a file shares the mapping") {
  Fixture f;
  auto a = f.open("data.bin", CreateDisposition::FILE_CREATE);
  auto b = f.open("data.bin", CreateDisposition::FILE_OPEN);
  REQUIRE(a->mapped());
  REQUIRE(b->mapped());
  CHECK(mapping(a) == mapping(b));
  const std::string mode = a->mode();
  CHECK((mode == "pmem: MAP_SYNC" || mode == "pmem: forced" || mode == "page cache + msync"));

  CHECK(write_str(*a, 0, "hello world") == NtStatus::SUCCESS);
  CHECK(read_all(*b) == "hello world");
  CHECK(TestDir::read(f.dir.root() / "data.bin") == "hello world");
  // Not on the loop: a mapped file is always read on a pool thread.
  std::uint8_t byte = 0;
  std::size_t done = 0;
  CHECK_FALSE(b->read_nowait(0, MutableByteSpan(&byte, 1), done));

  std::size_t appended = 0;
  const std::string tail = "!";
  CHECK(b->append(ByteSpan(reinterpret_cast<const std::uint8_t*>(tail.data()), 1), appended) ==
        NtStatus::SUCCESS);
  CHECK(read_all(*a) == "hello world!");
  CHECK(a->flush() == NtStatus::SUCCESS);
}

TEST_CASE("file_data: size changes of a pmem file go through the mapping") {
  Fixture f;
  auto a = f.open("size.bin", CreateDisposition::FILE_CREATE);
  auto b = f.open("size.bin", CreateDisposition::FILE_OPEN);
  CHECK(write_str(*a, 0, std::string(10000, 'x')) == NtStatus::SUCCESS);

  CHECK(b->set_end_of_file(100) == NtStatus::SUCCESS);
  CHECK(mapping(a)->size() == 100);
  CHECK(f.size_on_disk("size.bin") == 100);
  CHECK(read_all(*a) == std::string(100, 'x'));

  // A larger allocation only reserves space; a smaller one truncates ([MS-FSA] 2.1.5.14.3).
  CHECK(a->set_allocation_size(1 << 20) == NtStatus::SUCCESS);
  CHECK(f.size_on_disk("size.bin") == 100);
  CHECK(a->set_allocation_size(10) == NtStatus::SUCCESS);
  CHECK(mapping(b)->size() == 10);
  CHECK(read_all(*b) == std::string(10, 'x'));

  // Extending by end-of-file reads back zeros.
  CHECK(a->set_end_of_file(20) == NtStatus::SUCCESS);
  CHECK(read_all(*b) == std::string(10, 'x') + std::string(10, '\0'));
}

TEST_CASE("file_data: an overwriting open truncates through the mapping another open holds") {
  Fixture f;
  auto a = f.open("over.bin", CreateDisposition::FILE_CREATE);
  CHECK(write_str(*a, 0, std::string(3 << 20, 'y')) == NtStatus::SUCCESS);
  auto b = f.open("over.bin", CreateDisposition::FILE_OVERWRITE_IF);
  CHECK(mapping(a) == mapping(b));
  CHECK(mapping(a)->size() == 0);
  CHECK(f.size_on_disk("over.bin") == 0);
  // The first open must not see the old size (a load past the end would be SIGBUS).
  CHECK(read_all(*a).empty());
  CHECK(write_str(*b, 5, "z") == NtStatus::SUCCESS);
  CHECK(read_all(*a) == std::string(5, '\0') + "z");
}

TEST_CASE(
    "file_data: a read-only open reads a pmem file but cannot write through a shared mapping") {
  Fixture f;
  TestDir::write(f.dir.root() / "ro.bin", "read me");
  auto reader = f.open("ro.bin", CreateDisposition::FILE_OPEN, access_mask::FILE_READ_DATA);
  REQUIRE(reader->mapped());
  CHECK_FALSE(mapping(reader)->writable());
  CHECK(read_all(*reader) == "read me");
  CHECK(write_str(*reader, 0, "x") == NtStatus::ACCESS_DENIED);

  // A writer makes the shared MappedFile writable; the reader's open still may not write.
  auto writer = f.open("ro.bin", CreateDisposition::FILE_OPEN);
  CHECK(mapping(reader) == mapping(writer));
  CHECK(mapping(writer)->writable());
  CHECK(write_str(*writer, 0, "R") == NtStatus::SUCCESS);
  CHECK(read_all(*reader) == "Read me");
  CHECK(write_str(*reader, 0, "x") == NtStatus::ACCESS_DENIED);
  CHECK(reader->set_end_of_file(0) == NtStatus::ACCESS_DENIED);
  CHECK(reader->set_allocation_size(0) == NtStatus::ACCESS_DENIED);
}

TEST_CASE("file_data: a POSIX share reads and writes the descriptor") {
  Fixture f(Backend::posix);
  auto a = f.open("plain.bin", CreateDisposition::FILE_CREATE);
  CHECK_FALSE(a->mapped());
  CHECK(mapping(a) == nullptr);
  CHECK(std::string(a->mode()) == "posix");
  CHECK(write_str(*a, 0, "posix") == NtStatus::SUCCESS);
  auto b = f.open("plain.bin", CreateDisposition::FILE_OVERWRITE);
  CHECK(f.size_on_disk("plain.bin") == 0);
  CHECK(write_str(*b, 0, "again") == NtStatus::SUCCESS);
  std::string buf(16, '\0');
  std::size_t done = 0;
  // Just written, so in the page cache: answered without blocking.
  CHECK(a->read_nowait(0, MutableByteSpan(reinterpret_cast<std::uint8_t*>(buf.data()), 16), done));
  CHECK(buf.substr(0, done) == "again");
  CHECK(a->set_end_of_file(2) == NtStatus::SUCCESS);
  CHECK(read_all(*b) == "ag");
}

TEST_CASE("file_data: the pmem mode of a share is found by mapping a test file") {
  TestDir dir;
  std::string mode;
  std::string error;
  REQUIRE(smb::fsa::describe_pmem_share(dir.root().string(), mode, error));
  CHECK((mode == "pmem: MAP_SYNC" || mode == "pmem: forced" || mode == "page cache + msync"));
  CHECK_FALSE(smb::fsa::describe_pmem_share((dir.root() / "missing").string(), mode, error));
  CHECK(error.find("cannot create a test file") != std::string::npos);
}
