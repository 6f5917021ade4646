#include "smbd/auth/ntlm_session.hh"

#include <algorithm>
#include <string_view>

#include "smbd/auth/ntlm_message.hh"

namespace smb::auth {

namespace {

// 3.4.5.2 and 3.4.5.3: the magic constants include their terminating NUL.
ByteSpan magic(std::string_view text) {
  return ByteSpan(reinterpret_cast<const std::uint8_t*>(text.data()), text.size() + 1);
}
constexpr std::string_view kClientSigning =
    "session key to client-to-server signing key magic constant";
constexpr std::string_view kServerSigning =
    "session key to server-to-client signing key magic constant";
constexpr std::string_view kClientSealing =
    "session key to client-to-server sealing key magic constant";
constexpr std::string_view kServerSealing =
    "session key to server-to-client sealing key magic constant";

Digest16 seal_key(const Digest16& key, std::uint32_t flags, std::string_view constant) {
  // 3.4.5.3: the sealing key is truncated to 56 or 40 bits unless 128-bit is negotiated.
  std::size_t length = 5;
  if (has_flag(flags, NegotiateFlag::NTLMSSP_NEGOTIATE_128)) {
    length = 16;
  } else if (has_flag(flags, NegotiateFlag::NTLMSSP_NEGOTIATE_56)) {
    length = 7;
  }
  return md5({ByteSpan(key).first(length), magic(constant)});
}

}  // namespace

std::optional<NtlmSessionSecurity> NtlmSessionSecurity::create(const Digest16& exported_session_key,
                                                               std::uint32_t negotiate_flags,
                                                               NtlmRole role) {
  if (!has_flag(negotiate_flags, NegotiateFlag::NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
    return std::nullopt;
  }
  return NtlmSessionSecurity(exported_session_key, negotiate_flags, role);
}

NtlmSessionSecurity::NtlmSessionSecurity(const Digest16& key, std::uint32_t flags, NtlmRole role)
    : client_signing_key_(md5({key, magic(kClientSigning)})),
      server_signing_key_(md5({key, magic(kServerSigning)})),
      client_sealing_key_(seal_key(key, flags, kClientSealing)),
      server_sealing_key_(seal_key(key, flags, kServerSealing)),
      client_handle_(client_sealing_key_),
      server_handle_(server_sealing_key_),
      key_exch_(has_flag(flags, NegotiateFlag::NTLMSSP_NEGOTIATE_KEY_EXCH)),
      role_(role) {}

NtlmSignature NtlmSessionSecurity::mac(Rc4& handle, const Digest16& signing_key, std::uint32_t seq,
                                       ByteSpan message, bool key_exch) {
  // 3.4.4.2: Version 1, Checksum = HMAC_MD5(SigningKey, SeqNum || Message)[0..7], RC4'd
  // with the sealing handle when key exchange was negotiated, then SeqNum.
  std::uint8_t seq_bytes[4];
  store_le32(seq_bytes, seq);
  Digest16 hmac = hmac_md5(signing_key, {seq_bytes, message});
  NtlmSignature sig{};
  store_le32(sig.data(), 1);
  std::copy_n(hmac.begin(), 8, sig.begin() + 4);
  if (key_exch) handle.apply(MutableByteSpan(sig).subspan(4, 8));
  store_le32(sig.data() + 12, seq);
  return sig;
}

NtlmSignature NtlmSessionSecurity::sign(ByteSpan message) {
  if (role_ == NtlmRole::client) {
    return mac(client_handle_, client_signing_key_, client_seq_++, message, key_exch_);
  }
  return mac(server_handle_, server_signing_key_, server_seq_++, message, key_exch_);
}

bool NtlmSessionSecurity::verify(ByteSpan message, ByteSpan signature) {
  NtlmSignature expected =
      role_ == NtlmRole::client
          ? mac(server_handle_, server_signing_key_, server_seq_++, message, key_exch_)
          : mac(client_handle_, client_signing_key_, client_seq_++, message, key_exch_);
  return equal_constant_time(expected, signature);
}

NtlmSignature NtlmSessionSecurity::seal(MutableByteSpan message) {
  Rc4& handle = role_ == NtlmRole::client ? client_handle_ : server_handle_;
  Bytes plain(message.begin(), message.end());
  handle.apply(message);
  return sign(plain);
}

bool NtlmSessionSecurity::unseal(MutableByteSpan message, ByteSpan signature) {
  Rc4& handle = role_ == NtlmRole::client ? server_handle_ : client_handle_;
  handle.apply(message);
  return verify(message, signature);
}

}  // namespace smb::auth
