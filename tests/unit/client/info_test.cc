#include <doctest/doctest.h>

#include "smbd/client/connection.hh"

using namespace smb;

TEST_CASE("FileRenameInformation in its SMB2 form ([MS-FSCC] 2.4.37.2)") {
  Bytes b = client::encode_rename_information("dir\\new.txt", true);
  REQUIRE(b.size() == 20 + 22);
  CHECK(b[0] == 1);
  CHECK(load_le64(&b[8]) == 0);
  CHECK(load_le32(&b[16]) == 22);
  std::string name;
  REQUIRE(utf16le_to_utf8(ByteSpan(b).subspan(20), name));
  CHECK(name == "dir\\new.txt");
  CHECK(client::encode_rename_information("a", false).size() == 24);  // padded minimum
}

TEST_CASE("FileNamesInformation entries are parsed along NextEntryOffset") {
  Bytes out;
  ByteWriter w(out);
  for (std::string n : {".", "..", "file.txt"}) {
    Bytes u = utf16le(n);
    std::size_t start = out.size();
    w.u32(0);
    w.u32(0);
    w.u32(static_cast<std::uint32_t>(u.size()));
    w.bytes(u);
    if (n != "file.txt") {
      w.align(8);
      w.patch_u32(start, static_cast<std::uint32_t>(out.size() - start));
    }
  }
  std::vector<std::string> names;
  REQUIRE(client::parse_names_information(out, names));
  CHECK(names == std::vector<std::string>{".", "..", "file.txt"});
  // A NextEntryOffset past the end is rejected.
  Bytes bad{0xA0, 0x0F, 0x00, 0x00};  // NextEntryOffset 4000
  bad.insert(bad.end(), out.begin() + 4, out.end());
  names.clear();
  CHECK_FALSE(client::parse_names_information(bad, names));
  Bytes truncated(out.begin(), out.begin() + 10);
  CHECK_FALSE(client::parse_names_information(truncated, names));
}
