// libFuzzer target for smb_crypto's receive path: the SMB2 TRANSFORM_HEADER decoder and
// Decryptor::decrypt / decrypt_in_place under a fixed key, on arbitrary bytes.
//
// Input: a selector byte (bits 0-1: the cipher, AES-128-CCM, AES-128-GCM, AES-256-CCM,
// AES-256-GCM; bit 2: round-trip mode), then
//   decrypt mode:    a transform message as received from the network;
//   round-trip mode: Nonce (16), SessionId (8), split (2), flip (2), plaintext: the
//                    plaintext is encrypted in two parts, must decrypt to itself, and must
//                    fail to decrypt once any one bit of the wire message is flipped.
//                    Messages below 64 bytes (an SMB2 header) must be refused.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "smbd/crypto/encryption.hh"

using namespace smb;
using namespace smb::crypto;

namespace {

constexpr std::array<std::uint8_t, 32> kKey{
    0x4f, 0x8e, 0x1b, 0x02, 0x7d, 0xa3, 0x59, 0xc4, 0x10, 0xee, 0x36, 0x9b, 0x62, 0xd7, 0x05, 0x81,
    0xb9, 0x2a, 0x74, 0xf0, 0x13, 0xcc, 0x48, 0x6e, 0x95, 0x3d, 0xa0, 0x57, 0xe2, 0x1f, 0x8b, 0x66};

Cipher cipher_of(std::uint8_t selector) {
  static constexpr Cipher kCiphers[] = {Cipher::AES_128_CCM, Cipher::AES_128_GCM,
                                        Cipher::AES_256_CCM, Cipher::AES_256_GCM};
  return kCiphers[selector & 3];
}

ByteSpan key_for(Cipher c) { return ByteSpan(kKey.data(), cipher_key_size(c)); }

void decrypt_mode(Cipher cipher, ByteSpan message) {
  TransformHeader header;
  const NtStatus hs = decode(message, header);
  const auto session = transform_session_id(message);
  if (hs == NtStatus::SUCCESS) {
    if (!session || *session != header.session_id) __builtin_trap();
    std::array<std::uint8_t, kTransformHeaderSize> again{};
    encode(header, again);
    TransformHeader reread;
    if (decode(again, reread) != NtStatus::SUCCESS || reread.signature != header.signature ||
        reread.nonce != header.nonce ||
        reread.original_message_size != header.original_message_size ||
        reread.flags != header.flags || reread.session_id != header.session_id)
      __builtin_trap();
  }

  Decryptor decryptor(cipher, key_for(cipher));
  Bytes plaintext;
  const NtStatus s = decryptor.decrypt(message, plaintext);
  if (s != NtStatus::SUCCESS && !plaintext.empty()) __builtin_trap();
  if (s == NtStatus::SUCCESS &&
      (hs != NtStatus::SUCCESS || plaintext.size() != header.original_message_size))
    __builtin_trap();

  std::vector<std::uint8_t> copy(message.begin(), message.end());
  MutableByteSpan in_place;
  const NtStatus s2 = decryptor.decrypt_in_place(copy, in_place);
  if (s2 != s) __builtin_trap();
  if (s2 == NtStatus::SUCCESS &&
      !std::equal(in_place.begin(), in_place.end(), plaintext.begin(), plaintext.end()))
    __builtin_trap();
  if (s2 != NtStatus::SUCCESS && !in_place.empty()) __builtin_trap();
}

void round_trip_mode(Cipher cipher, ByteSpan input) {
  ByteReader r(input);
  TransformNonce nonce{};
  ByteSpan nonce_bytes = r.bytes(nonce.size());
  const std::uint64_t session_id = r.u64();
  const std::uint16_t split = r.u16();
  const std::uint16_t flip = r.u16();
  if (!r.ok()) return;
  std::copy(nonce_bytes.begin(), nonce_bytes.end(), nonce.begin());
  std::vector<std::uint8_t> plain(input.begin() + static_cast<std::ptrdiff_t>(r.position()),
                                  input.end());
  // Every message has at least an SMB2 header; the Encryptor is never asked to encrypt
  // nothing (with AES-CCM that throws, as OpenSSL takes no empty update).
  if (plain.empty()) return;

  // The wire message: header, then the two parts encrypted where they lie.
  std::vector<std::uint8_t> wire(kTransformHeaderSize + plain.size());
  std::copy(plain.begin(), plain.end(), wire.begin() + kTransformHeaderSize);
  const std::size_t cut = split % (plain.size() + 1);
  MutableByteSpan body(wire.data() + kTransformHeaderSize, plain.size());
  const std::array<MutableByteSpan, 2> parts{body.first(cut), body.subspan(cut)};
  Encryptor encryptor(cipher, key_for(cipher));
  encryptor.encrypt_in_place_with_nonce(nonce, session_id, parts,
                                        TransformHeaderBytes(wire.data(), kTransformHeaderSize));

  Decryptor decryptor(cipher, key_for(cipher));
  Bytes out;
  const NtStatus s = decryptor.decrypt(wire, out);
  // [MS-SMB2] 3.3.5.2.1.1: a message shorter than an SMB2 header is refused.
  const bool acceptable = plain.size() >= 64;
  if ((s == NtStatus::SUCCESS) != acceptable) __builtin_trap();
  if (!acceptable) return;
  if (out != plain) __builtin_trap();
  if (transform_session_id(wire) != session_id) __builtin_trap();

  // Every byte from Signature on is authenticated; ProtocolId is checked.
  const std::size_t bit = flip % (wire.size() * 8);
  wire[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
  out.clear();
  if (decryptor.decrypt(wire, out) == NtStatus::SUCCESS || !out.empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Cipher cipher = cipher_of(data[0]);
  // An exact-size copy, so that any read past the end is caught.
  std::vector<std::uint8_t> rest(data + 1, data + size);
  if (data[0] & 4)
    round_trip_mode(cipher, rest);
  else
    decrypt_mode(cipher, rest);
  return 0;
}
