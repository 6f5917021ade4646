// NDR20 transfer syntax ([C706] ch. 14) for little-endian, ASCII, IEEE data
// representation: the only one this server negotiates (packed_drep 0x10 0 0 0).
//
// NdrReader decodes untrusted stub data: every count is checked against the bytes
// actually present before anything is allocated, and a failure latches like
// smb::ByteReader. NdrWriter encodes; alignment is relative to the start of the stub,
// which [C706] 14.2.2 defines as the origin for NDR alignment.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "smbd/base/bytes.hh"

namespace smb::rpc {

// A UUID in its NDR wire form ([C706] Appendix A): time_low, time_mid and
// time_hi_and_version little-endian, then clock_seq and node as 8 raw octets.
struct Uuid {
  std::array<std::uint8_t, 16> bytes{};

  // Parses the textual form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
  static std::optional<Uuid> parse(std::string_view text);
  std::string to_string() const;
  bool is_nil() const;
  friend bool operator==(const Uuid&, const Uuid&) = default;
};

// p_syntax_id_t ([C706] 12.6.3.1): interface or transfer syntax and its version. The
// 32-bit if_version carries the major version in its low 16 bits ([MS-RPCE] 2.2.2.1).
struct SyntaxId {
  Uuid uuid;
  std::uint16_t major = 0;
  std::uint16_t minor = 0;
  friend bool operator==(const SyntaxId&, const SyntaxId&) = default;
};
inline constexpr std::size_t kSyntaxIdSize = 20;

void put_syntax(ByteWriter& w, const SyntaxId& s);
SyntaxId get_syntax(ByteReader& r);

// Well-known syntaxes.
const SyntaxId& ndr20_syntax();  // 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0
const SyntaxId& ndr64_syntax();  // 71710533-beba-4937-8319-b5dbef9ccc36 v1.0
// [MS-RPCE] 3.3.1.5.3: transfer syntaxes whose UUID starts 6cb71c2c-9812-4540 are not
// syntaxes but the bind time feature negotiation bitmask (octets 8..15 of the UUID).
bool is_bind_time_feature_syntax(const SyntaxId& s);

// The first referent id MIDL-generated stubs use; ids then advance by 4.
inline constexpr std::uint32_t kFirstReferentId = 0x00020000;
// Upper bound on the characters of one decoded string; longer ones fail decoding.
inline constexpr std::uint32_t kMaxStringChars = 32 * 1024;

class NdrReader {
 public:
  explicit NdrReader(ByteSpan stub) : r_(stub) {}

  bool ok() const { return r_.ok(); }
  void fail() { r_.fail(); }
  std::size_t position() const { return r_.position(); }
  std::size_t remaining() const { return r_.remaining(); }

  // Skips padding so the position is a multiple of `n` ([C706] 14.2.2).
  void align(std::size_t n);
  std::uint8_t u8() { return r_.u8(); }
  std::uint16_t u16() {
    align(2);
    return r_.u16();
  }
  std::uint32_t u32() {
    align(4);
    return r_.u32();
  }

  // A unique pointer ([C706] 14.3.10): its referent id, 0 for null.
  std::uint32_t unique_pointer() { return u32(); }

  // A full pointer ([C706] 14.3.11): the referent id, and whether it is the first
  // occurrence (the referent is then marshalled; later occurrences are aliases).
  struct FullPointer {
    std::uint32_t id = 0;
    bool first = false;
  };
  FullPointer full_pointer();

  // Conformant varying string of 16-bit characters ([C706] 14.3.4.2, [string] wchar_t*):
  // max_count, offset, actual_count, then actual_count UTF-16 units. The value is taken
  // up to the first NUL, which must be present, and converted to UTF-8.
  bool wstring(std::string& out);

  // The conformance of a conformant array: max_count, checked so that `element_size`
  // times it fits in the remaining bytes.
  bool array_count(std::size_t element_size, std::uint32_t& count);

 private:
  ByteReader r_;
  std::unordered_set<std::uint32_t> seen_full_;
};

class NdrWriter {
 public:
  explicit NdrWriter(Bytes& out) : w_(out), base_(out.size()) {}

  Bytes& buffer() { return w_.buffer(); }
  std::size_t position() const { return w_.size() - base_; }

  void align(std::size_t n) { w_.align(n, base_); }
  void u8(std::uint8_t v) { w_.u8(v); }
  void u16(std::uint16_t v) {
    align(2);
    w_.u16(v);
  }
  void u32(std::uint32_t v) {
    align(4);
    w_.u32(v);
  }
  void bytes(ByteSpan b) { w_.bytes(b); }

  // Writes a unique pointer: a fresh referent id, or 0 when `present` is false.
  std::uint32_t unique_pointer(bool present);

  // Writes a full pointer to `object`: the same id for the same object; `first` says
  // the caller must marshal the referent (nullptr writes 0 and first == false).
  struct FullPointer {
    std::uint32_t id = 0;
    bool first = false;
  };
  FullPointer full_pointer(const void* object);

  // Conformant varying NUL-terminated UTF-16 string (offset 0, max == actual).
  void wstring(std::string_view utf8);

 private:
  std::uint32_t next_id() {
    std::uint32_t id = next_referent_;
    next_referent_ += 4;
    return id;
  }

  ByteWriter w_;
  std::size_t base_;
  std::uint32_t next_referent_ = kFirstReferentId;
  std::vector<std::pair<const void*, std::uint32_t>> full_ids_;
};

}  // namespace smb::rpc
