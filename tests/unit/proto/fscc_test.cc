#include <doctest/doctest.h>

#include "smbd/proto/fscc.hh"

using namespace smb;
using namespace smb::fscc;

namespace {

template <typename T>
Bytes encoded(const T& v) {
  Bytes out;
  ByteWriter w(out);
  encode(v, w);
  return out;
}

// The UTF-16LE bytes of an ASCII string.
Bytes u16(std::string_view s) { return utf16le(s); }

bool bytes_at(const Bytes& b, std::size_t offset, const Bytes& expected) {
  return offset + expected.size() <= b.size() &&
         std::equal(expected.begin(), expected.end(), b.begin() + static_cast<long>(offset));
}

}  // namespace

TEST_CASE("fscc: FileBasicInformation layout (2.4.7) and decode") {
  FileBasicInformation v{0x0102030405060708ULL, 0x1112131415161718ULL, 0x2122232425262728ULL,
                         0x3132333435363738ULL, 0x00000021};
  Bytes b = encoded(v);
  REQUIRE(b.size() == kFileBasicInformationSize);
  CHECK(load_le64(&b[0]) == v.creation_time);
  CHECK(load_le64(&b[8]) == v.last_access_time);
  CHECK(load_le64(&b[16]) == v.last_write_time);
  CHECK(load_le64(&b[24]) == v.change_time);
  CHECK(load_le32(&b[32]) == 0x21);
  CHECK(load_le32(&b[36]) == 0);
  CHECK(b[0] == 0x08);  // little-endian
  FileBasicInformation d;
  REQUIRE(decode(b, d) == NtStatus::SUCCESS);
  CHECK(d.last_write_time == v.last_write_time);
  CHECK(d.file_attributes == 0x21);
  CHECK(decode(ByteSpan(b).first(36), d) == NtStatus::SUCCESS);
  CHECK(decode(ByteSpan(b).first(35), d) == NtStatus::INFO_LENGTH_MISMATCH);
}

TEST_CASE("fscc: fixed query classes") {
  Bytes b = encoded(FileStandardInformation{4096, 100, 2, true, false});
  REQUIRE(b.size() == kFileStandardInformationSize);
  CHECK(load_le64(&b[0]) == 4096);
  CHECK(load_le64(&b[8]) == 100);
  CHECK(load_le32(&b[16]) == 2);
  CHECK(b[20] == 1);
  CHECK(b[21] == 0);
  CHECK(load_le16(&b[22]) == 0);
  CHECK(encoded(FileInternalInformation{0x1122334455667788ULL}) ==
        Bytes{0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11});
  CHECK(encoded(FileEaInformation{0}).size() == 4);
  CHECK(encoded(FileAccessInformation{0x001F01FF}) == Bytes{0xFF, 0x01, 0x1F, 0x00});
  CHECK(encoded(FilePositionInformation{5}).size() == 8);
  CHECK(encoded(FileModeInformation{0x20}) == Bytes{0x20, 0, 0, 0});
  CHECK(encoded(FileAlignmentInformation{0}).size() == 4);
  CHECK(encoded(FileAttributeTagInformation{0x10, 0}) == Bytes{0x10, 0, 0, 0, 0, 0, 0, 0});

  FileNetworkOpenInformation n{1, 2, 3, 4, 8192, 5000, 0x20};
  b = encoded(n);
  REQUIRE(b.size() == kFileNetworkOpenInformationSize);
  CHECK(load_le64(&b[24]) == 4);
  CHECK(load_le64(&b[32]) == 8192);
  CHECK(load_le64(&b[40]) == 5000);
  CHECK(load_le32(&b[48]) == 0x20);
  CHECK(load_le32(&b[52]) == 0);
}

TEST_CASE("fscc: FileNameInformation and FileAllInformation (2.4.2)") {
  Bytes b = encoded(FileNameInformation{"\\dir\\f.txt"});
  REQUIRE(b.size() == 4 + 20);
  CHECK(load_le32(&b[0]) == 20);
  CHECK(bytes_at(b, 4, u16("\\dir\\f.txt")));

  FileAllInformation all;
  all.basic.file_attributes = 0x20;
  all.standard.end_of_file = 77;
  all.standard.directory = false;
  all.standard.number_of_links = 1;
  all.internal.index_number = 0xABCDEF;
  all.access.access_flags = 0x12019F;
  all.position.current_byte_offset = 9;
  all.mode.mode = 0x20;
  all.name.file_name = "a";
  b = encoded(all);
  REQUIRE(b.size() == kFileAllInformationFixedSize + 2);
  CHECK(load_le32(&b[32]) == 0x20);      // Basic.FileAttributes
  CHECK(load_le64(&b[48]) == 77);        // Standard.EndOfFile
  CHECK(load_le32(&b[56]) == 1);         // Standard.NumberOfLinks
  CHECK(load_le64(&b[64]) == 0xABCDEF);  // Internal
  CHECK(load_le32(&b[72]) == 0);         // Ea
  CHECK(load_le32(&b[76]) == 0x12019F);  // Access
  CHECK(load_le64(&b[80]) == 9);         // Position
  CHECK(load_le32(&b[88]) == 0x20);      // Mode
  CHECK(load_le32(&b[92]) == 0);         // Alignment
  CHECK(load_le32(&b[96]) == 2);         // FileNameLength
  CHECK(b[100] == 'a');
}

TEST_CASE("fscc: FileStreamInformation chains 8-byte aligned entries (2.4.43)") {
  std::vector<FileStreamEntry> s{{"::$DATA", 10, 4096}, {":x:$DATA", 1, 8}};
  Bytes b;
  ByteWriter w(b);
  encode(std::span<const FileStreamEntry>(s), w);
  // First entry: 24 + 14 = 38 bytes, padded to 40.
  CHECK(load_le32(&b[0]) == 40);
  CHECK(load_le32(&b[4]) == 14);
  CHECK(load_le64(&b[8]) == 10);
  CHECK(load_le64(&b[16]) == 4096);
  CHECK(bytes_at(b, 24, u16("::$DATA")));
  CHECK(load_le32(&b[40]) == 0);
  CHECK(load_le32(&b[44]) == 16);
  CHECK(b.size() == 40 + 24 + 16);
}

TEST_CASE("fscc: set-class decoders validate lengths") {
  // FileRenameInformation, SMB2 form (2.4.37.2).
  Bytes r{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  Bytes name = u16("new\\name.txt");
  for (int i = 0; i < 4; ++i) r.push_back(static_cast<std::uint8_t>(name.size() >> (8 * i)));
  r.insert(r.end(), name.begin(), name.end());
  FileRenameInformation ren;
  REQUIRE(decode(r, ren) == NtStatus::SUCCESS);
  CHECK(ren.replace_if_exists);
  CHECK(ren.root_directory == 0);
  CHECK(ren.file_name == "new\\name.txt");
  CHECK(decode(ByteSpan(r).first(19), ren) == NtStatus::INFO_LENGTH_MISMATCH);
  CHECK(decode(ByteSpan(r).first(r.size() - 2), ren) == NtStatus::INFO_LENGTH_MISMATCH);
  Bytes odd = r;
  odd[16] = 3;
  CHECK(decode(ByteSpan(odd).first(23), ren) == NtStatus::INVALID_PARAMETER);

  FileDispositionInformation disp;
  CHECK(decode(Bytes{}, disp) == NtStatus::INFO_LENGTH_MISMATCH);
  REQUIRE(decode(Bytes{1}, disp) == NtStatus::SUCCESS);
  CHECK(disp.delete_pending);
  FileDispositionInformationEx dx;
  CHECK(decode(Bytes{1, 0, 0}, dx) == NtStatus::INFO_LENGTH_MISMATCH);
  REQUIRE(decode(Bytes{0x09, 0, 0, 0}, dx) == NtStatus::SUCCESS);
  CHECK(dx.flags ==
        (disposition_flag::FILE_DISPOSITION_DELETE | disposition_flag::FILE_DISPOSITION_ON_CLOSE));
  FileEndOfFileInformation eof;
  CHECK(decode(Bytes(7, 0), eof) == NtStatus::INFO_LENGTH_MISMATCH);
  REQUIRE(decode(Bytes{0, 0x10, 0, 0, 0, 0, 0, 0}, eof) == NtStatus::SUCCESS);
  CHECK(eof.end_of_file == 0x1000);
  FileAllocationInformation alloc;
  CHECK(decode(Bytes(4, 0), alloc) == NtStatus::INFO_LENGTH_MISMATCH);
  FilePositionInformation pos;
  REQUIRE(decode(Bytes{1, 0, 0, 0, 0, 0, 0, 0}, pos) == NtStatus::SUCCESS);
  CHECK(pos.current_byte_offset == 1);
  FileModeInformation mode;
  CHECK(decode(Bytes{0x20, 0, 0, 0}, mode) == NtStatus::SUCCESS);
  CHECK(decode(Bytes{0x01, 0, 0, 0}, mode) == NtStatus::INVALID_PARAMETER);
  CHECK(decode(Bytes{0x30, 0, 0, 0}, mode) == NtStatus::INVALID_PARAMETER);
  CHECK(decode(Bytes{0x20, 0}, mode) == NtStatus::INFO_LENGTH_MISMATCH);
}

TEST_CASE("fscc: FileFullEaInformation decoding (2.4.15)") {
  // Two entries: "A"="xy" (12 bytes, padded to 12) then "BC"="" .
  Bytes b{12, 0, 0, 0, 0, 1, 2, 0, 'A', 0, 'x', 'y', 0, 0, 0, 0, 0x80, 2, 0, 0, 'B', 'C', 0};
  std::vector<FileFullEaEntry> eas;
  REQUIRE(decode(b, eas) == NtStatus::SUCCESS);
  REQUIRE(eas.size() == 2);
  CHECK(eas[0].ea_name == "A");
  CHECK(eas[0].ea_value == Bytes{'x', 'y'});
  CHECK(eas[1].flags == 0x80);
  CHECK(eas[1].ea_name == "BC");
  Bytes bad = b;
  bad[0] = 200;  // next entry outside the buffer
  CHECK(decode(bad, eas) == NtStatus::INVALID_PARAMETER);
  bad = b;
  bad[8 + 1] = 'z';  // missing NUL after the name
  CHECK(decode(bad, eas) == NtStatus::INVALID_PARAMETER);
  CHECK(decode(Bytes{0, 0, 0}, eas) == NtStatus::INFO_LENGTH_MISMATCH);
}

TEST_CASE("fscc: FileFullEaInformation encoding and FILE_GET_EA_INFORMATION (2.4.15)") {
  // Entries padded to 4 but the last, as Samba writes them.
  std::vector<FileFullEaEntry> eas{{0, "A", Bytes{'x', 'y'}}, {0x80, "BC", {}}};
  Bytes b = encoded(eas);
  CHECK(b ==
        Bytes{12, 0, 0, 0, 0, 1, 2, 0, 'A', 0, 'x', 'y', 0, 0, 0, 0, 0x80, 2, 0, 0, 'B', 'C', 0});
  CHECK(encoded_size(eas[0]) == 12);
  CHECK(encoded_size(eas[1]) == 11);

  // "two" then "k": NextEntryOffset 12.
  Bytes list{12, 0, 0, 0, 3, 't', 'w', 'o', 0, 0, 0, 0, 0, 0, 0, 0, 1, 'k', 0};
  std::vector<std::string> names;
  REQUIRE(decode_get_ea_list(list, names) == NtStatus::SUCCESS);
  CHECK(names == std::vector<std::string>{"two", "k"});
  Bytes looping = list;
  looping[0] = 4;  // the next entry would start inside this one
  CHECK(decode_get_ea_list(looping, names) == NtStatus::INVALID_PARAMETER);
  Bytes outside = list;
  outside[0] = 0xfc;
  outside[3] = 0xff;
  CHECK(decode_get_ea_list(outside, names) == NtStatus::INVALID_PARAMETER);
  CHECK(decode_get_ea_list(Bytes{0, 0, 0, 0, 3, 'a'}, names) == NtStatus::INVALID_PARAMETER);
  CHECK(decode_get_ea_list(Bytes{}, names) == NtStatus::INVALID_PARAMETER);
}

TEST_CASE("fscc: file system classes (2.5)") {
  Bytes b = encoded(FileFsVolumeInformation{0x0102030405060708ULL, 0xCAFEBABE, false, "share"});
  REQUIRE(b.size() == 18 + 10);
  CHECK(load_le64(&b[0]) == 0x0102030405060708ULL);
  CHECK(load_le32(&b[8]) == 0xCAFEBABE);
  CHECK(load_le32(&b[12]) == 10);
  CHECK(b[16] == 0);
  CHECK(b[17] == 0);
  CHECK(bytes_at(b, 18, u16("share")));

  b = encoded(FileFsSizeInformation{1000, 500, 8, 512});
  REQUIRE(b.size() == 24);
  CHECK(load_le64(&b[8]) == 500);
  CHECK(load_le32(&b[16]) == 8);
  CHECK(load_le32(&b[20]) == 512);

  b = encoded(FileFsFullSizeInformation{1000, 400, 500, 8, 512});
  REQUIRE(b.size() == 32);
  CHECK(load_le64(&b[8]) == 400);
  CHECK(load_le64(&b[16]) == 500);
  CHECK(load_le32(&b[24]) == 8);
  CHECK(load_le32(&b[28]) == 512);

  CHECK(encoded(FileFsDeviceInformation{FILE_DEVICE_DISK, 0}) == Bytes{7, 0, 0, 0, 0, 0, 0, 0});

  b = encoded(FileFsAttributeInformation{0x00000006, 255, "NTFS"});
  REQUIRE(b.size() == 12 + 8);
  CHECK(load_le32(&b[0]) == 6);
  CHECK(load_le32(&b[4]) == 255);
  CHECK(load_le32(&b[8]) == 8);
  CHECK(bytes_at(b, 12, u16("NTFS")));

  FileFsSectorSizeInformation ss;
  ss.physical_bytes_per_sector_for_performance = 4096;
  ss.flags = SSINFO_FLAGS_ALIGNED_DEVICE | SSINFO_FLAGS_PARTITION_ALIGNED_ON_DEVICE;
  b = encoded(ss);
  REQUIRE(b.size() == 28);
  CHECK(load_le32(&b[0]) == 512);
  CHECK(load_le32(&b[8]) == 4096);
  CHECK(load_le32(&b[16]) == 3);

  FileFsObjectIdInformation oid;
  oid.object_id[0] = 0xAA;
  oid.extended_info[47] = 0xBB;
  b = encoded(oid);
  REQUIRE(b.size() == 64);
  CHECK(b[0] == 0xAA);
  CHECK(b[63] == 0xBB);
}

namespace {

DirectoryEntry sample_entry(std::string name) {
  DirectoryEntry e;
  e.file_index = 0;
  e.creation_time = 0x1000;
  e.last_access_time = 0x2000;
  e.last_write_time = 0x3000;
  e.change_time = 0x4000;
  e.end_of_file = 123;
  e.allocation_size = 4096;
  e.file_attributes = 0x20;
  e.ea_size = 0;
  e.file_id = 0x0102030405060708ULL;
  e.short_name = "SHORT~1.TXT";
  e.file_name = std::move(name);
  return e;
}

}  // namespace

TEST_CASE("fscc: directory entry layouts and field offsets") {
  struct Case {
    FileInfoClass cls;
    std::size_t fixed;
  };
  const Case cases[] = {{FileInfoClass::FileDirectoryInformation, 64},
                        {FileInfoClass::FileFullDirectoryInformation, 68},
                        {FileInfoClass::FileIdFullDirectoryInformation, 80},
                        {FileInfoClass::FileBothDirectoryInformation, 94},
                        {FileInfoClass::FileIdBothDirectoryInformation, 104},
                        {FileInfoClass::FileIdExtdDirectoryInformation, 88},
                        {FileInfoClass::FileNamesInformation, 12}};
  for (const Case& c : cases) {
    CAPTURE(static_cast<int>(c.cls));
    CHECK(is_directory_class(c.cls));
    CHECK(directory_entry_fixed_size(c.cls) == c.fixed);
    Bytes b;
    ByteWriter w(b);
    DirectoryEntryWriter dw(w, c.cls, 65536);
    REQUIRE(dw.append(sample_entry("file.txt")));
    REQUIRE(b.size() == c.fixed + 16);
    CHECK(load_le32(&b[0]) == 0);  // NextEntryOffset of the only entry
    CHECK(bytes_at(b, c.fixed, u16("file.txt")));
    if (c.cls == FileInfoClass::FileNamesInformation) {
      CHECK(load_le32(&b[8]) == 16);
      continue;
    }
    CHECK(load_le64(&b[8]) == 0x1000);
    CHECK(load_le64(&b[16]) == 0x2000);
    CHECK(load_le64(&b[24]) == 0x3000);
    CHECK(load_le64(&b[32]) == 0x4000);
    CHECK(load_le64(&b[40]) == 123);
    CHECK(load_le64(&b[48]) == 4096);
    CHECK(load_le32(&b[56]) == 0x20);
    CHECK(load_le32(&b[60]) == 16);  // FileNameLength
  }
  // Class-specific fields.
  Bytes b;
  ByteWriter w(b);
  DirectoryEntryWriter both(w, FileInfoClass::FileIdBothDirectoryInformation, 4096);
  REQUIRE(both.append(sample_entry("x")));
  CHECK(load_le32(&b[64]) == 0);  // EaSize
  CHECK(b[68] == 22);             // ShortNameLength
  CHECK(b[69] == 0);              // Reserved1
  CHECK(bytes_at(b, 70, u16("SHORT~1.TXT")));
  CHECK(load_le16(&b[94]) == 0);  // Reserved2
  CHECK(load_le64(&b[96]) == 0x0102030405060708ULL);
  b.clear();
  DirectoryEntryWriter idfull(w, FileInfoClass::FileIdFullDirectoryInformation, 4096);
  REQUIRE(idfull.append(sample_entry("x")));
  CHECK(load_le32(&b[68]) == 0);
  CHECK(load_le64(&b[72]) == 0x0102030405060708ULL);
  b.clear();
  DirectoryEntryWriter extd(w, FileInfoClass::FileIdExtdDirectoryInformation, 4096);
  REQUIRE(extd.append(sample_entry("x")));
  CHECK(load_le32(&b[68]) == 0);  // ReparsePointTag
  CHECK(load_le64(&b[72]) == 0x0102030405060708ULL);
  CHECK(load_le64(&b[80]) == 0);
  CHECK(!is_directory_class(FileInfoClass::FileBasicInformation));
}

TEST_CASE("fscc: directory entries chain, align and stop at the buffer limit") {
  // FileDirectoryInformation: 64 + 2*len. "a" -> 66 bytes, next at 72.
  Bytes b(8, 0xEE);  // something already in the buffer: offsets are relative to here
  ByteWriter w(b);
  DirectoryEntryWriter dw(w, FileInfoClass::FileDirectoryInformation, 72 + 66);
  REQUIRE(dw.append(sample_entry("a")));
  CHECK(dw.size() == 66);
  REQUIRE(dw.append(sample_entry("b")));
  CHECK(dw.size() == 72 + 66);
  CHECK(load_le32(&b[8]) == 72);
  CHECK(load_le32(&b[8 + 72]) == 0);
  CHECK(b[8 + 66] == 0);  // padding
  // The next one does not fit: nothing is written and the chain is unchanged.
  CHECK_FALSE(dw.append(sample_entry("c")));
  CHECK(dw.size() == 72 + 66);
  CHECK(dw.count() == 2);
  CHECK(load_le32(&b[8 + 72]) == 0);

  // A buffer too small for even the first entry.
  Bytes small;
  ByteWriter sw(small);
  DirectoryEntryWriter tiny(sw, FileInfoClass::FileIdBothDirectoryInformation, 105);
  CHECK_FALSE(tiny.append(sample_entry("ab")));
  CHECK(small.empty());
  CHECK(tiny.count() == 0);
  DirectoryEntryWriter exact(sw, FileInfoClass::FileIdBothDirectoryInformation, 108);
  CHECK(exact.append(sample_entry("ab")));

  // Many small entries: every entry starts on an 8-byte boundary.
  Bytes many;
  ByteWriter mw(many);
  DirectoryEntryWriter names(mw, FileInfoClass::FileNamesInformation, 200);
  int n = 0;
  while (names.append(sample_entry(std::string(static_cast<std::size_t>(1 + n % 3), 'n')))) ++n;
  CHECK(n > 5);
  std::size_t at = 0;
  int walked = 1;
  while (load_le32(&many[at]) != 0) {
    at += load_le32(&many[at]);
    CHECK(at % 8 == 0);
    ++walked;
  }
  CHECK(walked == n);
  CHECK(many.size() <= 200);
}
