#include "bench/pattern.hh"

#include <algorithm>
#include <cstring>

namespace smb::bench {

namespace {

constexpr std::uint64_t kM1 = 0xbf58476d1ce4e5b9ull;
constexpr std::uint64_t kM2 = 0x94d049bb133111ebull;

// The multiplicative inverse modulo 2^64 of an odd number (Newton's iteration).
constexpr std::uint64_t inverse(std::uint64_t a) {
  std::uint64_t x = a;
  for (int i = 0; i < 6; ++i) x *= 2 - a * x;
  return x;
}

constexpr std::uint64_t unxorshift(std::uint64_t x, int s) {
  std::uint64_t r = x;
  for (int i = s; i < 64; i += s) r = x ^ (r >> s);
  return r;
}

}  // namespace

std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * kM1;
  z = (z ^ (z >> 27)) * kM2;
  return z ^ (z >> 31);
}

std::uint64_t unmix64(std::uint64_t z) {
  z = unxorshift(z, 31);
  z *= inverse(kM2);
  z = unxorshift(z, 27);
  z *= inverse(kM1);
  return unxorshift(z, 30);
}

std::uint64_t Pattern::base(std::uint32_t gen) const {
  return mix64(seed_ ^ mix64((std::uint64_t{file_} << 32) | gen)) << 20;
}

std::uint64_t Pattern::word(std::uint64_t word_index, std::uint32_t gen) const {
  return mix64(base(gen) + word_index);
}

void Pattern::fill(MutableByteSpan out, std::uint64_t offset, std::uint32_t gen) const {
  std::uint64_t b = base(gen);
  std::size_t i = 0;
  while (i < out.size()) {
    std::uint64_t at = offset + i;
    std::uint64_t w = mix64(b + at / 8);
    std::uint8_t bytes[8];
    store_le64(bytes, w);
    std::size_t from = at % 8;
    std::size_t n = std::min<std::size_t>(8 - from, out.size() - i);
    std::memcpy(out.data() + i, bytes + from, n);
    i += n;
  }
}

Pattern::Check Pattern::verify(ByteSpan data, std::uint64_t offset, std::uint32_t gen,
                               std::uint64_t file_size) const {
  Check c;
  Bytes expect(data.size());
  fill(expect, offset, gen);
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] == expect[i]) continue;
    if (c.ok) c.first_bad = offset + i;
    c.ok = false;
    ++c.bad_bytes;
  }
  if (c.ok) return c;
  char text[200];
  // A lost write: the whole range holds an older generation of the same data.
  for (std::uint32_t g = gen; g-- > 0 && g + 8 >= gen;) {
    Bytes old(data.size());
    fill(old, offset, g);
    if (std::equal(old.begin(), old.end(), data.begin())) {
      std::snprintf(text, sizeof text,
                    "stale data: generation %u instead of %u (a lost write) at offset %llu", g, gen,
                    static_cast<unsigned long long>(offset));
      c.diagnosis = text;
      return c;
    }
  }
  if (std::all_of(data.begin(), data.end(), [](std::uint8_t b) { return b == 0; })) {
    std::snprintf(text, sizeof text, "zeros instead of generation %u at offset %llu", gen,
                  static_cast<unsigned long long>(offset));
    c.diagnosis = text;
    return c;
  }
  // A misplaced block: the aligned word holding the first bad byte decodes to the word of
  // another offset (of this or an older generation).
  std::uint64_t word_at = (c.first_bad - offset) & ~std::uint64_t{7};
  if ((offset % 8) == 0 && word_at + 8 <= data.size()) {
    std::uint64_t actual = load_le64(data.data() + word_at);
    for (std::uint32_t g = gen + 1; g-- > 0 && g + 8 >= gen;) {
      std::uint64_t index = unmix64(actual) - base(g);
      std::uint64_t here = (offset + word_at) / 8;
      if (index < file_size / 8 && index != here) {
        long long shift = static_cast<long long>((here - index) * 8);
        std::snprintf(text, sizeof text,
                      "misplaced data at offset %llu: it belongs at offset %llu (generation %u), "
                      "shifted by %lld bytes",
                      static_cast<unsigned long long>(offset + word_at),
                      static_cast<unsigned long long>(index * 8), g, shift);
        c.diagnosis = text;
        return c;
      }
    }
  }
  std::snprintf(text, sizeof text, "%llu byte(s) differ, the first at offset %llu",
                static_cast<unsigned long long>(c.bad_bytes),
                static_cast<unsigned long long>(c.first_bad));
  c.diagnosis = text;
  return c;
}

}  // namespace smb::bench
