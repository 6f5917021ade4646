// NT EAs as `user.` xattrs (vfs/eas.hh) on a real file in the temporary directory (its
// file system must keep user xattrs; where it does not, the I/O cases are skipped).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>

#include "smbd/base/unique_fd.hh"
#include "smbd/vfs/eas.hh"
#include "test_dir.hh"

using namespace smb;
using namespace smb::vfs;

TEST_CASE("eas: names") {
  CHECK(valid_ea_name("EAONE"));
  CHECK(valid_ea_name("user.x"));
  CHECK(valid_ea_name(std::string(255, 'a')));
  CHECK_FALSE(valid_ea_name(""));
  CHECK_FALSE(valid_ea_name(std::string(256, 'a')));
  for (char c : std::string("\"*+,/:;<=>?[\\]|\x01\x7f")) {
    CAPTURE(int(c));
    CHECK_FALSE(valid_ea_name(std::string("a") + c));
  }
  CHECK(ea_xattr_name("Name") == "user.Name");
  CHECK(ea_xattr_name("USER.Name") == "USER.Name");
  CHECK(is_private_xattr("user.DOSATTRIB"));
  CHECK(is_private_xattr("user.DosStream.s:$DATA"));
  CHECK(is_private_xattr("security.NTACL"));
  CHECK_FALSE(is_private_xattr("user.Name"));
}

TEST_CASE("eas: set, list, replace, remove") {
  test::TestDir dir;
  const std::string path = (dir.root() / "f").string();
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  REQUIRE(fd);
  if (::fsetxattr(fd.get(), "user.probe", "x", 1, 0) != 0) {
    MESSAGE("no user xattrs in " << dir.root());
    return;
  }
  REQUIRE(::fremovexattr(fd.get(), "user.probe") == 0);
  REQUIRE(::fsetxattr(fd.get(), "user.DOSATTRIB", "0x20", 4, 0) == 0);

  std::vector<ExtendedAttribute> eas;
  REQUIRE(list_eas(fd.get(), eas) == NtStatus::SUCCESS);
  CHECK(eas.empty());  // Samba's own attribute is no EA

  REQUIRE(set_eas(fd.get(), {{"One", Bytes{'1'}}, {"two", Bytes{0, 2}}}) == NtStatus::SUCCESS);
  // Names match ignoring case and keep the first spelling.
  REQUIRE(set_eas(fd.get(), {{"ONE", Bytes{'!'}}, {"two", {}}}) == NtStatus::SUCCESS);
  REQUIRE(list_eas(fd.get(), eas) == NtStatus::SUCCESS);
  REQUIRE(eas.size() == 1);
  CHECK(eas[0].name == "One");
  CHECK(eas[0].value == Bytes{'!'});
  char value[4];
  CHECK(::fgetxattr(fd.get(), "user.One", value, sizeof value) == 1);
  CHECK(set_eas(fd.get(), {{"DosStream.x:$DATA", Bytes{'x'}}}) == NtStatus::ACCESS_DENIED);
  // Removing what is not there is no error.
  CHECK(set_eas(fd.get(), {{"absent", {}}}) == NtStatus::SUCCESS);

  // Through an O_PATH descriptor as well.
  UniqueFd path_fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  REQUIRE(path_fd);
  REQUIRE(list_eas(path_fd.get(), eas) == NtStatus::SUCCESS);
  CHECK(eas.size() == 1);
}
