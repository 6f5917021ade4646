#include "smbd/proto/negotiate.hh"

#include <algorithm>

#include "smbd/proto/body.hh"

namespace smb {

namespace {

constexpr std::uint16_t kRequestSize = 36;   // MS-SMB2 2.2.3
constexpr std::uint16_t kResponseSize = 65;  // MS-SMB2 2.2.4

template <typename Enum>
NtStatus read_ids(ByteReader& r, std::size_t count, std::vector<Enum>& out) {
  if (count * 2 > r.remaining()) return NtStatus::INVALID_PARAMETER;
  out.clear();
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(static_cast<Enum>(r.u16()));
  return NtStatus::SUCCESS;
}

template <typename Enum>
void write_ids(ByteWriter& w, const std::vector<Enum>& ids) {
  for (Enum id : ids) w.u16(static_cast<std::uint16_t>(id));
}

NegotiateContext make(NegotiateContextType type, Bytes data) {
  return NegotiateContext{type, std::move(data)};
}

// MS-SMB2 2.2.3.1: contexts start 8-byte aligned; each is {ContextType, DataLength,
// Reserved, Data} and the next one starts at the next 8-byte boundary.
NtStatus decode_contexts(ByteSpan pdu, std::uint64_t offset, std::uint64_t count,
                         std::uint64_t min_offset, std::vector<NegotiateContext>& out) {
  out.clear();
  if (count == 0) return NtStatus::SUCCESS;
  if (offset % 8 != 0 || offset < min_offset) return NtStatus::INVALID_PARAMETER;
  std::uint64_t at = offset;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (i > 0) at = (at + 7) & ~std::uint64_t{7};
    if (!in_bounds(at, 8, pdu.size())) return NtStatus::INVALID_PARAMETER;
    auto type = static_cast<NegotiateContextType>(load_le16(&pdu[at]));
    std::uint64_t length = load_le16(&pdu[at + 2]);
    if (!in_bounds(at + 8, length, pdu.size())) return NtStatus::INVALID_PARAMETER;
    ByteSpan data = pdu.subspan(static_cast<std::size_t>(at + 8), static_cast<std::size_t>(length));
    out.push_back(NegotiateContext{type, Bytes(data.begin(), data.end())});
    at += 8 + length;
  }
  return NtStatus::SUCCESS;
}

void encode_contexts(const std::vector<NegotiateContext>& contexts, ByteWriter& w,
                     std::size_t header) {
  for (std::size_t i = 0; i < contexts.size(); ++i) {
    w.align(8, header);
    const auto& c = contexts[i];
    w.u16(static_cast<std::uint16_t>(c.type));
    w.u16(static_cast<std::uint16_t>(c.data.size()));
    w.u32(0);
    w.bytes(c.data);
  }
}

}  // namespace

const NegotiateContext* find_context(const std::vector<NegotiateContext>& contexts,
                                     NegotiateContextType type) {
  auto it = std::find_if(contexts.begin(), contexts.end(),
                         [type](const NegotiateContext& c) { return c.type == type; });
  return it == contexts.end() ? nullptr : &*it;
}

NtStatus decode_context(ByteSpan data, PreauthIntegrityCapabilities& out) {
  ByteReader r(data);
  std::uint16_t count = r.u16();
  std::uint16_t salt_length = r.u16();
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  if (read_ids(r, count, out.hash_algorithms) != NtStatus::SUCCESS)
    return NtStatus::INVALID_PARAMETER;
  ByteSpan salt = r.bytes(salt_length);
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  out.salt.assign(salt.begin(), salt.end());
  return NtStatus::SUCCESS;
}

NtStatus decode_context(ByteSpan data, EncryptionCapabilities& out) {
  ByteReader r(data);
  std::uint16_t count = r.u16();
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  return read_ids(r, count, out.ciphers);
}

NtStatus decode_context(ByteSpan data, CompressionCapabilities& out) {
  ByteReader r(data);
  std::uint16_t count = r.u16();
  r.skip(2);  // Padding
  out.flags = r.u32();
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  return read_ids(r, count, out.algorithms);
}

NtStatus decode_context(ByteSpan data, NetnameNegotiateContext& out) {
  return utf16le_to_utf8(data, out.net_name) ? NtStatus::SUCCESS : NtStatus::INVALID_PARAMETER;
}

NtStatus decode_context(ByteSpan data, TransportCapabilities& out) {
  ByteReader r(data);
  out.flags = r.u32();
  return r.ok() ? NtStatus::SUCCESS : NtStatus::INVALID_PARAMETER;
}

NtStatus decode_context(ByteSpan data, RdmaTransformCapabilities& out) {
  ByteReader r(data);
  std::uint16_t count = r.u16();
  r.skip(6);  // Reserved1, Reserved2
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  return read_ids(r, count, out.transform_ids);
}

NtStatus decode_context(ByteSpan data, SigningCapabilities& out) {
  ByteReader r(data);
  std::uint16_t count = r.u16();
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  return read_ids(r, count, out.signing_algorithms);
}

NegotiateContext to_context(const PreauthIntegrityCapabilities& c) {
  Bytes data;
  ByteWriter w(data);
  w.u16(static_cast<std::uint16_t>(c.hash_algorithms.size()));
  w.u16(static_cast<std::uint16_t>(c.salt.size()));
  write_ids(w, c.hash_algorithms);
  w.bytes(c.salt);
  return make(NegotiateContextType::SMB2_PREAUTH_INTEGRITY_CAPABILITIES, std::move(data));
}

NegotiateContext to_context(const EncryptionCapabilities& c) {
  Bytes data;
  ByteWriter w(data);
  w.u16(static_cast<std::uint16_t>(c.ciphers.size()));
  write_ids(w, c.ciphers);
  return make(NegotiateContextType::SMB2_ENCRYPTION_CAPABILITIES, std::move(data));
}

NegotiateContext to_context(const CompressionCapabilities& c) {
  Bytes data;
  ByteWriter w(data);
  w.u16(static_cast<std::uint16_t>(c.algorithms.size()));
  w.u16(0);
  w.u32(c.flags);
  write_ids(w, c.algorithms);
  return make(NegotiateContextType::SMB2_COMPRESSION_CAPABILITIES, std::move(data));
}

NegotiateContext to_context(const NetnameNegotiateContext& c) {
  return make(NegotiateContextType::SMB2_NETNAME_NEGOTIATE_CONTEXT_ID, utf16le(c.net_name));
}

NegotiateContext to_context(const TransportCapabilities& c) {
  Bytes data;
  ByteWriter w(data);
  w.u32(c.flags);
  return make(NegotiateContextType::SMB2_TRANSPORT_CAPABILITIES, std::move(data));
}

NegotiateContext to_context(const RdmaTransformCapabilities& c) {
  Bytes data;
  ByteWriter w(data);
  w.u16(static_cast<std::uint16_t>(c.transform_ids.size()));
  w.u16(0);
  w.u32(0);
  write_ids(w, c.transform_ids);
  return make(NegotiateContextType::SMB2_RDMA_TRANSFORM_CAPABILITIES, std::move(data));
}

NegotiateContext to_context(const SigningCapabilities& c) {
  Bytes data;
  ByteWriter w(data);
  w.u16(static_cast<std::uint16_t>(c.signing_algorithms.size()));
  write_ids(w, c.signing_algorithms);
  return make(NegotiateContextType::SMB2_SIGNING_CAPABILITIES, std::move(data));
}

bool NegotiateRequest::offers(Dialect d) const {
  return std::find(dialects.begin(), dialects.end(), to_u16(d)) != dialects.end();
}

NtStatus decode(ByteSpan pdu, NegotiateRequest& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kRequestSize, r); s != NtStatus::SUCCESS) return s;
  NegotiateRequest q;
  std::uint16_t dialect_count = r.u16();
  q.security_mode = r.u16();
  r.skip(2);  // Reserved
  q.capabilities = r.u32();
  q.client_guid = read_guid(r);
  std::uint32_t context_offset = r.u32();
  std::uint16_t context_count = r.u16();
  r.skip(2);  // Reserved2
  if (dialect_count == 0) return NtStatus::INVALID_PARAMETER;
  if (std::uint64_t{dialect_count} * 2 > r.remaining()) return NtStatus::INVALID_PARAMETER;
  q.dialects.reserve(dialect_count);
  for (std::uint16_t i = 0; i < dialect_count; ++i) q.dialects.push_back(r.u16());
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  if (q.offers(Dialect::SMB3_1_1)) {
    NtStatus s = decode_contexts(pdu, context_offset, context_count, r.position(), q.contexts);
    if (s != NtStatus::SUCCESS) return s;
  }
  out = std::move(q);
  return NtStatus::SUCCESS;
}

void encode(const NegotiateRequest& q, ByteWriter& w) {
  std::size_t header = body::header_start(w);
  bool with_contexts = q.offers(Dialect::SMB3_1_1) && !q.contexts.empty();
  w.u16(kRequestSize);
  w.u16(static_cast<std::uint16_t>(q.dialects.size()));
  w.u16(q.security_mode);
  w.u16(0);
  w.u32(q.capabilities);
  write_guid(w, q.client_guid);
  std::size_t offset_at = w.size();
  w.u32(0);  // NegotiateContextOffset, or ClientStartTime (0)
  w.u16(with_contexts ? static_cast<std::uint16_t>(q.contexts.size()) : 0);
  w.u16(0);
  for (std::uint16_t d : q.dialects) w.u16(d);
  if (with_contexts) {
    w.align(8, header);
    w.patch_u32(offset_at, static_cast<std::uint32_t>(body::offset_from(w, header)));
    encode_contexts(q.contexts, w, header);
  }
}

NtStatus decode(ByteSpan pdu, NegotiateResponse& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kResponseSize, r); s != NtStatus::SUCCESS) return s;
  NegotiateResponse p;
  p.security_mode = r.u16();
  p.dialect_revision = r.u16();
  std::uint16_t context_count = r.u16();
  p.server_guid = read_guid(r);
  p.capabilities = r.u32();
  p.max_transact_size = r.u32();
  p.max_read_size = r.u32();
  p.max_write_size = r.u32();
  p.system_time = r.u64();
  p.server_start_time = r.u64();
  std::uint16_t buffer_offset = r.u16();
  std::uint16_t buffer_length = r.u16();
  std::uint32_t context_offset = r.u32();
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  if (!body::buffer(pdu, buffer_offset, buffer_length, kResponseSize, p.security_buffer))
    return NtStatus::INVALID_PARAMETER;
  if (p.dialect_revision == to_u16(Dialect::SMB3_1_1)) {
    NtStatus s = decode_contexts(pdu, context_offset, context_count,
                                 kSmb2HeaderSize + body::fixed_size(kResponseSize), p.contexts);
    if (s != NtStatus::SUCCESS) return s;
  }
  out = std::move(p);
  return NtStatus::SUCCESS;
}

void encode(const NegotiateResponse& p, ByteWriter& w) {
  std::size_t header = body::header_start(w);
  bool with_contexts = p.dialect_revision == to_u16(Dialect::SMB3_1_1) && !p.contexts.empty();
  w.u16(kResponseSize);
  w.u16(p.security_mode);
  w.u16(p.dialect_revision);
  w.u16(with_contexts ? static_cast<std::uint16_t>(p.contexts.size()) : 0);
  write_guid(w, p.server_guid);
  w.u32(p.capabilities);
  w.u32(p.max_transact_size);
  w.u32(p.max_read_size);
  w.u32(p.max_write_size);
  w.u64(p.system_time);
  w.u64(p.server_start_time);
  w.u16(static_cast<std::uint16_t>(body::offset_from(w, header) + 8));
  w.u16(static_cast<std::uint16_t>(p.security_buffer.size()));
  std::size_t offset_at = w.size();
  w.u32(0);
  w.bytes(p.security_buffer);
  if (with_contexts) {
    w.align(8, header);
    w.patch_u32(offset_at, static_cast<std::uint32_t>(body::offset_from(w, header)));
    encode_contexts(p.contexts, w, header);
  } else if (p.security_buffer.empty()) {
    w.u8(0);  // MS-SMB2 2.2.4: the Buffer holds at least one byte
  }
}

bool decode_smb1_negotiate(ByteSpan message, std::vector<std::string>& dialects) {
  dialects.clear();
  // [MS-CIFS] 2.2.3.1: a 32-byte header: Protocol, Command, then fields up to MID.
  constexpr std::size_t kSmb1HeaderSize = 32;
  constexpr std::uint8_t kSmbComNegotiate = 0x72;
  if (message.size() < kSmb1HeaderSize + 3) return false;
  if (!std::equal(kSmb1ProtocolId.begin(), kSmb1ProtocolId.end(), message.begin())) return false;
  if (message[4] != kSmbComNegotiate) return false;
  ByteReader r(message, kSmb1HeaderSize);
  std::uint8_t word_count = r.u8();
  r.skip(std::size_t{word_count} * 2);
  std::uint16_t byte_count = r.u16();
  ByteSpan bytes = r.bytes(byte_count);
  if (!r.ok()) return false;
  // [MS-CIFS] 2.2.4.52.1: Dialects is a list of {BufferFormat 0x02, OEM_STRING}.
  std::size_t i = 0;
  while (i < bytes.size()) {
    if (bytes[i] != 0x02) return false;
    auto end = std::find(bytes.begin() + static_cast<std::ptrdiff_t>(i) + 1, bytes.end(), 0);
    if (end == bytes.end()) return false;
    dialects.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(i) + 1, end);
    i = static_cast<std::size_t>(end - bytes.begin()) + 1;
  }
  return !dialects.empty();
}

}  // namespace smb
