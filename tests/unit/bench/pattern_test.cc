#include <doctest/doctest.h>

#include <random>
#include <string>

#include "bench/pattern.hh"

using smb::Bytes;
using smb::bench::Pattern;

TEST_CASE("mix64 is inverted by unmix64") {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 100000; ++i) {
    std::uint64_t x = rng();
    REQUIRE(smb::bench::unmix64(smb::bench::mix64(x)) == x);
  }
}

TEST_CASE("pattern data verifies, at aligned and unaligned offsets") {
  Pattern p(99, 3);
  for (std::uint64_t offset : {0ull, 4096ull, 13ull, 1000003ull}) {
    Bytes data(8192 + 5);
    p.fill(data, offset, 2);
    auto c = p.verify(data, offset, 2, 1 << 24);
    CHECK(c.ok);
    CHECK(c.diagnosis.empty());
  }
  // Filling a range in two pieces gives the same bytes as in one.
  Bytes whole(100), a(37), b(63);
  p.fill(whole, 1000, 1);
  p.fill(a, 1000, 1);
  p.fill(b, 1037, 1);
  a.insert(a.end(), b.begin(), b.end());
  CHECK(a == whole);
  // Other files, generations and seeds give other data.
  Bytes other(100);
  Pattern(99, 4).fill(other, 1000, 1);
  CHECK(other != whole);
  Pattern(98, 3).fill(other, 1000, 1);
  CHECK(other != whole);
  p.fill(other, 1000, 2);
  CHECK(other != whole);
}

TEST_CASE("verify detects a flipped byte") {
  Pattern p(1, 0);
  Bytes data(4096);
  p.fill(data, 8192, 3);
  data[1234] ^= 0x10;
  auto c = p.verify(data, 8192, 3, 1 << 20);
  CHECK_FALSE(c.ok);
  CHECK(c.bad_bytes == 1);
  CHECK(c.first_bad == 8192 + 1234);
  CHECK(c.diagnosis.find("1 byte(s) differ") != std::string::npos);
}

TEST_CASE("verify detects a shifted block and names where the data belongs") {
  Pattern p(1, 0);
  const std::uint32_t bs = 4096;
  // The server returned block 5's data for a read of block 7.
  Bytes data(bs);
  p.fill(data, 5 * bs, 1);
  auto c = p.verify(data, 7 * bs, 1, 1 << 20);
  CHECK_FALSE(c.ok);
  CHECK(c.first_bad == 7 * bs);
  CHECK(c.diagnosis.find("belongs at offset " + std::to_string(5 * bs)) != std::string::npos);
  CHECK(c.diagnosis.find("shifted by " + std::to_string(2 * bs)) != std::string::npos);
  // A shift inside the block by 512 bytes.
  Bytes shifted(bs);
  p.fill(shifted, 7 * bs - 512, 1);
  c = p.verify(shifted, 7 * bs, 1, 1 << 20);
  CHECK_FALSE(c.ok);
  CHECK(c.diagnosis.find("shifted by 512") != std::string::npos);
}

TEST_CASE("verify detects a lost write") {
  Pattern p(1, 2);
  Bytes data(65536);
  // Generation 4 was written and acknowledged; the read finds generation 3.
  p.fill(data, 1 << 20, 3);
  auto c = p.verify(data, 1 << 20, 4, 1 << 24);
  CHECK_FALSE(c.ok);
  CHECK(c.diagnosis.find("generation 3 instead of 4") != std::string::npos);
  CHECK(c.diagnosis.find("lost write") != std::string::npos);
  // A write that never reached a new file reads back as zeros.
  Bytes zeros(4096, 0);
  c = p.verify(zeros, 0, 1, 1 << 24);
  CHECK_FALSE(c.ok);
  CHECK(c.diagnosis.find("zeros") != std::string::npos);
}
