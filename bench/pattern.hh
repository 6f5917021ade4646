// The --verify data pattern: every 8-byte word of a file has a value determined by the
// run's seed, the file, the block's write generation and the word's offset, so a read can
// be checked byte for byte, and a wrong word can often be explained: data of an older
// generation of the same block (a lost write), data that belongs at another offset (a
// shifted or misplaced block), or a few flipped bytes. The word function is an invertible
// 64-bit mix, which is what lets a misplaced word name the offset it came from.
#pragma once

#include <cstdint>
#include <string>

#include "smbd/base/bytes.hh"

namespace smb::bench {

class Pattern {
 public:
  Pattern(std::uint64_t seed, std::uint32_t file) : seed_(seed), file_(file) {}

  // The byte at absolute file offset `offset` .. for generation `gen`, into `out`.
  void fill(MutableByteSpan out, std::uint64_t offset, std::uint32_t gen) const;

  struct Check {
    bool ok = true;
    std::uint64_t first_bad = 0;  // absolute offset of the first wrong byte
    std::uint64_t bad_bytes = 0;
    std::string diagnosis;  // empty when ok
  };
  // Compares `data`, read at `offset`, with generation `gen`. `file_size` bounds the
  // offsets a misplaced word may be explained by.
  Check verify(ByteSpan data, std::uint64_t offset, std::uint32_t gen,
               std::uint64_t file_size) const;

  std::uint64_t word(std::uint64_t word_index, std::uint32_t gen) const;

 private:
  std::uint64_t base(std::uint32_t gen) const;
  std::uint64_t seed_;
  std::uint32_t file_;
};

// The 64-bit finaliser of SplitMix64 and its inverse.
std::uint64_t mix64(std::uint64_t x);
std::uint64_t unmix64(std::uint64_t x);

}  // namespace smb::bench
