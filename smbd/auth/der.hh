// A strict, bounded DER (X.690) reader and a minimal writer, enough for SPNEGO
// (RFC 4178) and the GSS-API token framing (RFC 2743 3.1). Only single-byte tags and
// definite lengths of at most four length octets in minimal form are accepted; nesting
// is limited to kMaxDepth levels.
#pragma once

#include <cstdint>
#include <string>

#include "smbd/base/bytes.hh"

namespace smb::auth::der {

inline constexpr int kMaxDepth = 8;

// Universal and class/constructed tag octets used by SPNEGO.
inline constexpr std::uint8_t kTagEnumerated = 0x0A;
inline constexpr std::uint8_t kTagOctetString = 0x04;
inline constexpr std::uint8_t kTagOid = 0x06;
inline constexpr std::uint8_t kTagBitString = 0x03;
inline constexpr std::uint8_t kTagGeneralString = 0x1B;
inline constexpr std::uint8_t kTagSequence = 0x30;
inline constexpr std::uint8_t kTagApplication0 = 0x60;  // [APPLICATION 0] constructed
constexpr std::uint8_t context(std::uint8_t n) {
  return static_cast<std::uint8_t>(0xA0 | n);  // [n] constructed
}

struct Tlv {
  std::uint8_t tag = 0;
  ByteSpan content;  // the value octets
  ByteSpan whole;    // tag, length and value
};

class Reader {
 public:
  explicit Reader(ByteSpan data, int depth = 0)
      : data_(data), ok_(depth <= kMaxDepth), depth_(depth) {}

  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == data_.size(); }
  // Reads the next element; false (and latched failure) when malformed or at the end.
  bool next(Tlv& out);
  // Reads the next element and requires `tag`.
  bool expect(std::uint8_t tag, Tlv& out) { return next(out) && (out.tag == tag || fail()); }
  // Tag of the next element without consuming it; false at the end or when failed.
  bool peek(std::uint8_t& tag) const;
  // A reader over the content of a constructed element, one level deeper.
  Reader enter(const Tlv& tlv) const;
  bool fail() {
    ok_ = false;
    return false;
  }

 private:
  ByteSpan data_;
  std::size_t pos_ = 0;
  bool ok_;
  int depth_;
};

// Appends tag, minimal-form length and `content`.
void write_tlv(Bytes& out, std::uint8_t tag, ByteSpan content);
Bytes tlv(std::uint8_t tag, ByteSpan content);

// Dotted form of OID content octets ("1.3.6.1.5.5.2"); empty when malformed.
std::string oid_to_string(ByteSpan content);

}  // namespace smb::auth::der
