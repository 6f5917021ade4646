// CREATE in the object store: parameter rules, access, the file-system work and admission,
// against a real scratch directory.
#include "smbd/fsa/create.hh"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.hh"
#include "smbd/vfs/security.hh"

using namespace smb::fsa;
using namespace smb::fsa::test;
using smb::CreateDisposition;
using smb::NtStatus;
namespace co = smb::create_option;
namespace fa = smb::file_attribute;

namespace {

NtStatus prepare(const CreateParameters& p, CreatePlan& plan, bool read_only = false,
                 std::uint32_t maximal = smb::kFileAllAccess) {
  CreateScope scope;
  scope.maximal_access = maximal;
  scope.read_only = read_only;
  return prepare_create(p, scope, plan);
}

NtStatus prepare(const CreateParameters& p, bool read_only = false,
                 std::uint32_t maximal = smb::kFileAllAccess) {
  CreatePlan plan;
  return prepare(p, plan, read_only, maximal);
}

CreateParameters read_of(std::string path, CreateDisposition d = CreateDisposition::FILE_OPEN) {
  return Fixture::parameters(std::move(path), am::FILE_READ_DATA, kShareAll, d);
}

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("parameter rules: disposition, contradictory options, attributes") {
  CHECK(check_create_parameters(read_of("f")) == NtStatus::SUCCESS);
  for (std::uint32_t d = 0; d <= 5; ++d) {
    auto p = read_of("f", static_cast<CreateDisposition>(d));
    CHECK(check_create_parameters(p) == NtStatus::SUCCESS);
  }
  auto p = read_of("f", static_cast<CreateDisposition>(6));
  CHECK(check_create_parameters(p) == NtStatus::INVALID_PARAMETER);

  p = read_of("f");
  p.create_options = co::FILE_DIRECTORY_FILE | co::FILE_NON_DIRECTORY_FILE;
  CHECK(check_create_parameters(p) == NtStatus::INVALID_PARAMETER);
  p.create_options = co::FILE_DIRECTORY_FILE;
  CHECK(check_create_parameters(p) == NtStatus::SUCCESS);

  p = read_of("f");
  p.file_attributes = 0x7FB7;  // every attribute a CREATE may carry
  CHECK(check_create_parameters(p) == NtStatus::SUCCESS);
  for (std::uint32_t bad : {0x00000008u, 0x00000040u, 0x00008000u, 0x00010000u}) {
    CAPTURE(bad);
    p.file_attributes = fa::FILE_ATTRIBUTE_NORMAL | bad;
    CHECK(check_create_parameters(p) == NtStatus::INVALID_PARAMETER);
  }
  // prepare_create applies the same rules.
  p.file_attributes = 0x40;
  CHECK(prepare(p) == NtStatus::INVALID_PARAMETER);
}

TEST_CASE("access: generic rights mapped, only what was asked granted, no access refused") {
  CreatePlan plan;
  auto p = Fixture::parameters("f", am::GENERIC_READ, kShareAll);
  REQUIRE(prepare(p, plan) == NtStatus::SUCCESS);
  CHECK(plan.granted_access == smb::kFileGenericReadAccess);
  CHECK(plan.request.desired_access == plan.granted_access);

  p.desired_access = am::FILE_WRITE_DATA;
  REQUIRE(prepare(p, plan) == NtStatus::SUCCESS);
  CHECK(plan.granted_access == am::FILE_WRITE_DATA);

  p.desired_access = am::MAXIMUM_ALLOWED;
  REQUIRE(prepare(p, plan, false, smb::kFileGenericReadAccess) == NtStatus::SUCCESS);
  CHECK(plan.granted_access == smb::kFileGenericReadAccess);

  p.desired_access = 0;
  CHECK(prepare(p) == NtStatus::ACCESS_DENIED);
  p.desired_access = am::MAXIMUM_ALLOWED;
  CHECK(prepare(p, false, 0) == NtStatus::ACCESS_DENIED);
  p.desired_access = am::FILE_READ_DATA | am::ACCESS_SYSTEM_SECURITY;
  CHECK(prepare(p) == NtStatus::PRIVILEGE_NOT_HELD);
}

TEST_CASE("delete-on-close needs DELETE") {
  auto p = read_of("f", CreateDisposition::FILE_OPEN_IF);
  p.create_options = co::FILE_DELETE_ON_CLOSE;
  CHECK(prepare(p) == NtStatus::ACCESS_DENIED);
  p.desired_access = am::FILE_READ_DATA | am::DELETE;
  CreatePlan plan;
  REQUIRE(prepare(p, plan) == NtStatus::SUCCESS);
  CHECK(plan.delete_on_close);
  p.desired_access = am::GENERIC_ALL;
  CHECK(prepare(p) == NtStatus::SUCCESS);
}

TEST_CASE("a read-only share opens existing files for reading only") {
  CreatePlan plan;
  CHECK(prepare(read_of("f"), plan, true) == NtStatus::SUCCESS);
  auto p = read_of("f", CreateDisposition::FILE_OPEN_IF);
  REQUIRE(prepare(p, plan, true) == NtStatus::SUCCESS);
  CHECK(plan.request.create_disposition == CreateDisposition::FILE_OPEN);
  for (auto d : {CreateDisposition::FILE_CREATE, CreateDisposition::FILE_SUPERSEDE,
                 CreateDisposition::FILE_OVERWRITE, CreateDisposition::FILE_OVERWRITE_IF}) {
    CAPTURE(static_cast<int>(d));
    CHECK(prepare(read_of("f", d), true) == NtStatus::ACCESS_DENIED);
  }
  for (std::uint32_t write : {am::FILE_WRITE_DATA, am::FILE_APPEND_DATA, am::DELETE, am::WRITE_DAC,
                              am::FILE_WRITE_ATTRIBUTES}) {
    CAPTURE(write);
    p.desired_access = am::FILE_READ_DATA | write;
    CHECK(prepare(p, true) == NtStatus::ACCESS_DENIED);
  }
}

TEST_CASE("a create security descriptor: no SACL, another owner only with WRITE_OWNER") {
  auto p = Fixture::parameters("f", am::FILE_READ_DATA, kShareAll);
  smb::dtyp::SecurityDescriptor sd;
  sd.control |= smb::dtyp::sd_control::SE_SACL_PRESENT;
  sd.sacl = smb::dtyp::Acl{};
  p.security_descriptor = std::make_shared<const smb::dtyp::SecurityDescriptor>(sd);
  CHECK(prepare(p) == NtStatus::PRIVILEGE_NOT_HELD);

  smb::dtyp::SecurityDescriptor owned;
  owned.owner = smb::vfs::unix_user_sid(0);
  p.security_descriptor = std::make_shared<const smb::dtyp::SecurityDescriptor>(owned);
  CHECK(prepare(p, false, smb::kFileGenericReadAccess) == NtStatus::ACCESS_DENIED);
  CreatePlan plan;
  REQUIRE(prepare(p, plan) == NtStatus::SUCCESS);
  CHECK(plan.security_information == smb::kOwnerSecurityInformation);
  CHECK(plan.security_descriptor == p.security_descriptor);
}

TEST_CASE("open_file creates the file, with a data path only for data access") {
  Fixture f;
  std::unique_ptr<FileOpen> open;
  OpenedFile opened;
  auto p = Fixture::parameters("new.txt", am::FILE_READ_DATA | am::FILE_WRITE_DATA, kShareAll,
                               CreateDisposition::FILE_CREATE);
  REQUIRE(f.create(p, open, &opened) == NtStatus::SUCCESS);
  CHECK(opened.result.create_action == smb::CreateAction::FILE_CREATED);
  CHECK(open->io != nullptr);
  CHECK(open->fd == opened.fd);
  CHECK(open->fs == f.share);
  CHECK(open->path == "new.txt");
  CHECK(open->name() == "new.txt");
  CHECK_FALSE(open->is_directory);
  CHECK(open->granted_access == (am::FILE_READ_DATA | am::FILE_WRITE_DATA));
  CHECK(open->share_access == kShareAll);
  CHECK(open->key == FileKey{opened.result.info.device, opened.result.info.file_id});
  CHECK(f.exists("new.txt"));

  std::unique_ptr<FileOpen> attributes_only;
  REQUIRE(f.create("new.txt", am::FILE_READ_ATTRIBUTES, kShareAll, attributes_only) ==
          NtStatus::SUCCESS);
  CHECK(attributes_only->io == nullptr);
  CHECK(attributes_only->key == open->key);

  std::unique_ptr<FileOpen> dir;
  auto d = Fixture::parameters("sub", am::FILE_READ_DATA, kShareAll, CreateDisposition::FILE_CREATE,
                               co::FILE_DIRECTORY_FILE);
  REQUIRE(f.create(d, dir) == NtStatus::SUCCESS);
  CHECK(dir->is_directory);
  CHECK(dir->io == nullptr);
  std::unique_ptr<FileOpen> inner;
  REQUIRE(f.create("sub\\inner.txt", am::FILE_WRITE_DATA, 0, inner) == NtStatus::SUCCESS);
  CHECK(inner->path == "sub\\inner.txt");
  CHECK(inner->name() == "inner.txt");
}

TEST_CASE("a create security descriptor is applied to a new file only") {
  Fixture f;
  smb::dtyp::SecurityDescriptor sd = smb::vfs::security_descriptor_from_posix(
      {::getuid(), ::getgid(), S_IFREG | 0600, false}, smb::kDaclSecurityInformation);
  sd.control |= smb::dtyp::sd_control::SE_DACL_PRESENT;  // as decoding a SecD context sets it
  auto p = Fixture::parameters("secret.txt", am::FILE_READ_DATA, kShareAll,
                               CreateDisposition::FILE_OPEN_IF);
  p.security_descriptor = std::make_shared<const smb::dtyp::SecurityDescriptor>(sd);
  std::unique_ptr<FileOpen> created;
  REQUIRE(f.create(p, created) == NtStatus::SUCCESS);
  CHECK(mode_of(f.dir.root() / "secret.txt") == 0600);
  f.close(created);

  REQUIRE(::chmod((f.dir.root() / "secret.txt").c_str(), 0644) == 0);
  std::unique_ptr<FileOpen> existing;
  REQUIRE(f.create(p, existing) == NtStatus::SUCCESS);
  CHECK(mode_of(f.dir.root() / "secret.txt") == 0644);
}

TEST_CASE("a new file that cannot carry its security descriptor is not left behind") {
  Fixture f;
  smb::dtyp::SecurityDescriptor sd;
  sd.control |= smb::dtyp::sd_control::SE_DACL_PRESENT;
  smb::dtyp::Acl dacl;
  smb::dtyp::Ace deny;
  deny.type = smb::dtyp::AceType::ACCESS_DENIED_ACE_TYPE;
  deny.mask = am::FILE_READ_DATA;
  deny.sid = smb::vfs::unix_user_sid(::getuid());
  dacl.aces.push_back(deny);
  sd.dacl = dacl;
  auto p = Fixture::parameters("denied.txt", am::FILE_READ_DATA, kShareAll,
                               CreateDisposition::FILE_CREATE);
  p.security_descriptor = std::make_shared<const smb::dtyp::SecurityDescriptor>(sd);
  std::unique_ptr<FileOpen> open;
  CHECK(f.create(p, open) == NtStatus::NOT_SUPPORTED);
  CHECK(open == nullptr);
  CHECK_FALSE(f.exists("denied.txt"));
}

TEST_CASE("overwriting a pmem file drops its data through the mapping") {
  Fixture f(smb::vfs::Backend::pmem);
  smb::vfs::test::TestDir::write(f.dir.root() / "big.dat", std::string(8192, 'x'));
  CreatePlan plan;
  auto p = Fixture::parameters("big.dat", am::FILE_READ_ATTRIBUTES, kShareAll,
                               CreateDisposition::FILE_OVERWRITE_IF);
  REQUIRE(prepare_create(p, f.scope(), plan) == NtStatus::SUCCESS);
  CHECK(plan.request.defer_truncate);
  OpenedFile opened;
  REQUIRE(open_file(plan, opened) == NtStatus::SUCCESS);
  CHECK(opened.result.create_action == smb::CreateAction::FILE_OVERWRITTEN);
  // Truncating needs the data path even though the open asked for no data access.
  REQUIRE(opened.io != nullptr);
  CHECK(opened.io->mapped());
  // The data stays until the open is admitted...
  CHECK(opened.truncate_after_admission);
  CHECK(std::filesystem::file_size(f.dir.root() / "big.dat") == 8192);
  // ...and then goes through the mapping.
  REQUIRE(finish_overwrite(opened) == NtStatus::SUCCESS);
  CHECK(opened.result.info.end_of_file == 0);
  CHECK(std::filesystem::file_size(f.dir.root() / "big.dat") == 0);
}

TEST_CASE("an overwrite empties a POSIX file once its open is admitted") {
  Fixture f;
  smb::vfs::test::TestDir::write(f.dir.root() / "old.dat", std::string(100, 'x'));
  std::unique_ptr<FileOpen> open;
  OpenedFile opened;
  auto p = Fixture::parameters("old.dat", am::FILE_READ_ATTRIBUTES, kShareAll,
                               CreateDisposition::FILE_OVERWRITE);
  REQUIRE(f.create(p, open, &opened) == NtStatus::SUCCESS);
  CHECK_FALSE(opened.truncate_after_admission);
  CHECK(opened.result.info.end_of_file == 0);
  CHECK(std::filesystem::file_size(f.dir.root() / "old.dat") == 0);
}

TEST_CASE("an overwrite refused by the share modes leaves the file's data") {
  Fixture f;
  smb::vfs::test::TestDir::write(f.dir.root() / "kept.dat", std::string(100, 'x'));
  std::unique_ptr<FileOpen> holder;
  REQUIRE(f.create("kept.dat", am::FILE_READ_DATA, smb::kFileShareRead, holder) == NtStatus::SUCCESS);
  for (auto disposition : {CreateDisposition::FILE_OVERWRITE, CreateDisposition::FILE_OVERWRITE_IF,
                           CreateDisposition::FILE_SUPERSEDE}) {
    std::unique_ptr<FileOpen> open;
    auto p = Fixture::parameters("kept.dat", am::FILE_READ_DATA | am::FILE_WRITE_DATA, kShareAll,
                                 disposition);
    CHECK(f.create(p, open) == NtStatus::SHARING_VIOLATION);
    CHECK(std::filesystem::file_size(f.dir.root() / "kept.dat") == 100);
  }
  f.close(holder);
}
