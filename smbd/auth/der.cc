#include "smbd/auth/der.hh"

namespace smb::auth::der {

bool Reader::next(Tlv& out) {
  if (!ok_ || pos_ >= data_.size()) return fail();
  std::size_t start = pos_;
  std::uint8_t tag = data_[pos_++];
  // X.690 8.1.2.4: high tag numbers (low five bits all set) are not used by SPNEGO.
  if ((tag & 0x1F) == 0x1F) return fail();
  if (pos_ >= data_.size()) return fail();
  std::uint8_t first = data_[pos_++];
  std::uint64_t length = 0;
  if (first < 0x80) {
    length = first;
  } else {
    std::size_t count = first & 0x7F;
    // 0x80 is the indefinite form, which DER forbids (X.690 10.1).
    if (count == 0 || count > 4 || count > data_.size() - pos_) return fail();
    for (std::size_t k = 0; k < count; ++k) length = (length << 8) | data_[pos_++];
    // X.690 10.1: the length must be encoded in the minimum number of octets.
    if (length < 0x80 || (count > 1 && (length >> (8 * (count - 1))) == 0)) return fail();
  }
  if (!in_bounds(pos_, length, data_.size())) return fail();
  out.tag = tag;
  out.content = data_.subspan(pos_, static_cast<std::size_t>(length));
  pos_ += static_cast<std::size_t>(length);
  out.whole = data_.subspan(start, pos_ - start);
  return true;
}

bool Reader::peek(std::uint8_t& tag) const {
  if (!ok_ || pos_ >= data_.size()) return false;
  tag = data_[pos_];
  return true;
}

Reader Reader::enter(const Tlv& tlv) const {
  // Only constructed elements hold nested encodings (X.690 8.1.2.5).
  Reader child(tlv.content, depth_ + 1);
  if (!ok_ || (tlv.tag & 0x20) == 0) child.ok_ = false;
  return child;
}

void write_tlv(Bytes& out, std::uint8_t tag, ByteSpan content) {
  out.push_back(tag);
  std::size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else {
    std::uint8_t octets[4];
    int count = 0;
    for (std::size_t v = n; v != 0; v >>= 8) octets[count++] = static_cast<std::uint8_t>(v);
    out.push_back(static_cast<std::uint8_t>(0x80 | count));
    while (count > 0) out.push_back(octets[--count]);
  }
  out.insert(out.end(), content.begin(), content.end());
}

Bytes tlv(std::uint8_t tag, ByteSpan content) {
  Bytes out;
  write_tlv(out, tag, content);
  return out;
}

std::string oid_to_string(ByteSpan content) {
  if (content.empty()) return {};
  std::string text;
  std::uint64_t arc = 0;
  bool first = true;
  for (std::size_t k = 0; k < content.size(); ++k) {
    std::uint8_t b = content[k];
    // X.690 8.19.2: no leading 0x80 octet in a subidentifier; keep arcs within 56 bits.
    if (arc == 0 && b == 0x80) return {};
    if (arc >> 56) return {};
    arc = (arc << 7) | (b & 0x7F);
    if (b & 0x80) {
      if (k + 1 == content.size()) return {};
      continue;
    }
    if (first) {
      // 8.19.4: the first subidentifier packs the first two arcs.
      std::uint64_t top = arc < 40 ? 0 : (arc < 80 ? 1 : 2);
      text.append(std::to_string(top));
      text.push_back('.');
      text.append(std::to_string(arc - 40 * top));
      first = false;
    } else {
      text.push_back('.');
      text.append(std::to_string(arc));
    }
    arc = 0;
  }
  return text;
}

}  // namespace smb::auth::der
