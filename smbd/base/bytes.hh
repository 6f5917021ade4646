// Bounded little-endian reading and writing of wire bytes.
//
// ByteReader never reads outside its span: a read past the end returns zero and
// latches `ok() == false`, so a decoder can read a whole fixed structure and check
// once. Offsets and lengths are computed in 64 bits before they are compared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace smb {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;
using MutableByteSpan = std::span<std::uint8_t>;

// True when [offset, offset + length) lies inside a buffer of `size` bytes.
constexpr bool in_bounds(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
  return offset <= size && length <= size - offset;
}

inline std::uint16_t load_le16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t load_le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
inline std::uint64_t load_le64(const std::uint8_t* p) {
  return static_cast<std::uint64_t>(load_le32(p)) |
         (static_cast<std::uint64_t>(load_le32(p + 4)) << 32);
}
inline void store_le16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}
inline void store_le32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline void store_le64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

class ByteReader {
 public:
  explicit ByteReader(ByteSpan data, std::size_t position = 0)
      : data_(data), pos_(position), ok_(position <= data.size()) {}

  bool ok() const { return ok_; }
  std::size_t position() const { return pos_; }
  std::size_t size() const { return data_.size(); }
  std::size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  ByteSpan data() const { return data_; }

  std::uint8_t u8() { return fetch<1>() ? data_[pos_ - 1] : 0; }
  std::uint16_t u16() { return fetch<2>() ? load_le16(&data_[pos_ - 2]) : 0; }
  std::uint32_t u32() { return fetch<4>() ? load_le32(&data_[pos_ - 4]) : 0; }
  std::uint64_t u64() { return fetch<8>() ? load_le64(&data_[pos_ - 8]) : 0; }

  // Copies `out.size()` bytes; on short input fills with zeros and fails.
  void copy(MutableByteSpan out) {
    if (!need(out.size())) {
      std::memset(out.data(), 0, out.size());
      return;
    }
    std::memcpy(out.data(), &data_[pos_], out.size());
    pos_ += out.size();
  }
  // A view of the next `n` bytes (empty and failed when short).
  ByteSpan bytes(std::size_t n) {
    if (!need(n)) return {};
    ByteSpan view = data_.subspan(pos_, n);
    pos_ += n;
    return view;
  }
  void skip(std::size_t n) {
    if (need(n)) pos_ += n;
  }
  void seek(std::size_t position) {
    if (position > data_.size()) {
      ok_ = false;
      return;
    }
    pos_ = position;
  }
  void fail() { ok_ = false; }

  // A view of [offset, offset+length) of the whole span, independent of position;
  // std::nullopt-like failure is signalled by returning false.
  bool slice(std::uint64_t offset, std::uint64_t length, ByteSpan& out) const {
    if (!in_bounds(offset, length, data_.size())) return false;
    out = data_.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
    return true;
  }

 private:
  template <std::size_t N>
  bool fetch() {
    if (!need(N)) return false;
    pos_ += N;
    return true;
  }
  bool need(std::size_t n) {
    if (!ok_ || n > data_.size() - pos_) {
      ok_ = false;
      return false;
    }
    return true;
  }

  ByteSpan data_;
  std::size_t pos_;
  bool ok_;
};

class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(Bytes& out) : out_(&out) {}
  ByteWriter(const ByteWriter&) = delete;
  ByteWriter& operator=(const ByteWriter&) = delete;

  Bytes& buffer() { return *out_; }
  const Bytes& buffer() const { return *out_; }
  std::size_t size() const { return out_->size(); }

  void u8(std::uint8_t v) { out_->push_back(v); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void bytes(ByteSpan b) { out_->insert(out_->end(), b.begin(), b.end()); }
  void zeros(std::size_t n) { out_->insert(out_->end(), n, 0); }
  // Pads with zeros until size() is a multiple of `alignment` (relative to `base`).
  void align(std::size_t alignment, std::size_t base = 0) {
    while ((out_->size() - base) % alignment != 0) out_->push_back(0);
  }

  void patch_u16(std::size_t at, std::uint16_t v) { store_le16(&(*out_)[at], v); }
  void patch_u32(std::size_t at, std::uint32_t v) { store_le32(&(*out_)[at], v); }
  void patch_u64(std::size_t at, std::uint64_t v) { store_le64(&(*out_)[at], v); }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_->push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  Bytes own_;
  Bytes* out_ = &own_;
};

// Decodes the strict UTF-8 code point at `i` (no overlongs, no surrogates) and moves `i`
// past it; false, with `i` unchanged, on invalid input.
bool decode_utf8_code_point(std::string_view in, std::size_t& i, char32_t& out);

// UTF-16LE, as SMB carries names. Invalid input (unpaired surrogates, odd length)
// makes the decoder return false; invalid UTF-8 is encoded as U+FFFD.
bool utf16le_to_utf8(ByteSpan in, std::string& out);
void utf8_to_utf16le(std::string_view in, Bytes& out);
inline Bytes utf16le(std::string_view in) {
  Bytes b;
  utf8_to_utf16le(in, b);
  return b;
}

}  // namespace smb
