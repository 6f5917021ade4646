// SMB2 NEGOTIATE (MS-SMB2 2.2.3, 2.2.4), its 3.1.1 negotiate contexts (2.2.3.1), and
// recognition of an SMB1 NEGOTIATE that offers SMB2 (MS-SMB2 3.3.5.3).
//
// Ownership: every buffer and context is copied into the structs (Bytes); nothing
// points into the pdu after decode returns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/base/wire.hh"

namespace smb {


// MS-SMB2 2.2.3: SecurityMode.
inline constexpr std::uint16_t kNegotiateSigningEnabled = 0x0001;
inline constexpr std::uint16_t kNegotiateSigningRequired = 0x0002;

// MS-SMB2 2.2.3: Capabilities.
inline constexpr std::uint32_t kGlobalCapDfs = 0x00000001;
inline constexpr std::uint32_t kGlobalCapLeasing = 0x00000002;
inline constexpr std::uint32_t kGlobalCapLargeMtu = 0x00000004;
inline constexpr std::uint32_t kGlobalCapMultiChannel = 0x00000008;
inline constexpr std::uint32_t kGlobalCapPersistentHandles = 0x00000010;
inline constexpr std::uint32_t kGlobalCapDirectoryLeasing = 0x00000020;
inline constexpr std::uint32_t kGlobalCapEncryption = 0x00000040;
inline constexpr std::uint32_t kGlobalCapNotifications = 0x00000080;

// MS-SMB2 2.2.3.1: ContextType.
enum class NegotiateContextType : std::uint16_t {
  SMB2_PREAUTH_INTEGRITY_CAPABILITIES = 0x0001,
  SMB2_ENCRYPTION_CAPABILITIES = 0x0002,
  SMB2_COMPRESSION_CAPABILITIES = 0x0003,
  SMB2_NETNAME_NEGOTIATE_CONTEXT_ID = 0x0005,
  SMB2_TRANSPORT_CAPABILITIES = 0x0006,
  SMB2_RDMA_TRANSFORM_CAPABILITIES = 0x0007,
  SMB2_SIGNING_CAPABILITIES = 0x0008,
  SMB2_CONTEXTTYPE_RESERVED = 0x0100,
};

// MS-SMB2 2.2.3.1.1: HashAlgorithms.
enum class HashAlgorithm : std::uint16_t { SHA_512 = 0x0001 };
// MS-SMB2 2.2.3.1.2: Ciphers.
enum class CipherId : std::uint16_t {
  AES_128_CCM = 0x0001,
  AES_128_GCM = 0x0002,
  AES_256_CCM = 0x0003,
  AES_256_GCM = 0x0004,
};
// MS-SMB2 2.2.3.1.3: CompressionAlgorithms and Flags.
enum class CompressionAlgorithm : std::uint16_t {
  NONE = 0x0000,
  LZNT1 = 0x0001,
  LZ77 = 0x0002,
  LZ77_HUFFMAN = 0x0003,
  PATTERN_V1 = 0x0004,
  LZ4 = 0x0005,
};
inline constexpr std::uint32_t kCompressionCapabilitiesFlagChained = 0x00000001;
// MS-SMB2 2.2.3.1.5: Flags.
inline constexpr std::uint32_t kAcceptTransportLevelSecurity = 0x00000001;
// MS-SMB2 2.2.3.1.6: RDMATransformIds.
enum class RdmaTransformId : std::uint16_t {
  NONE = 0x0000,
  ENCRYPTION = 0x0001,
  SIGNING = 0x0002,
};
// MS-SMB2 2.2.3.1.7: SigningAlgorithms.
enum class SigningAlgorithmId : std::uint16_t {
  HMAC_SHA256 = 0x0000,
  AES_CMAC = 0x0001,
  AES_GMAC = 0x0002,
};

// One negotiate context as carried on the wire (MS-SMB2 2.2.3.1). Contexts of unknown
// type are kept as they are: MS-SMB2 3.3.5.4 has the server ignore them.
struct NegotiateContext {
  NegotiateContextType type{};
  Bytes data;
  bool operator==(const NegotiateContext&) const = default;
};

// The first context of `type`, or null.
const NegotiateContext* find_context(const std::vector<NegotiateContext>& contexts,
                                     NegotiateContextType type);

// Typed views of the context data. decode_context parses only the data (what follows the
// 8-byte context header) and checks that the counts fit; policy (e.g. "at least one
// hash algorithm", MS-SMB2 3.3.5.4) is the caller's.
struct PreauthIntegrityCapabilities {  // MS-SMB2 2.2.3.1.1
  std::vector<HashAlgorithm> hash_algorithms;
  Bytes salt;
  bool operator==(const PreauthIntegrityCapabilities&) const = default;
};
struct EncryptionCapabilities {  // MS-SMB2 2.2.3.1.2
  std::vector<CipherId> ciphers;
  bool operator==(const EncryptionCapabilities&) const = default;
};
struct CompressionCapabilities {  // MS-SMB2 2.2.3.1.3
  std::uint32_t flags = 0;
  std::vector<CompressionAlgorithm> algorithms;
  bool operator==(const CompressionCapabilities&) const = default;
};
struct NetnameNegotiateContext {  // MS-SMB2 2.2.3.1.4
  std::string net_name;           // UTF-8 here, UTF-16LE on the wire
  bool operator==(const NetnameNegotiateContext&) const = default;
};
struct TransportCapabilities {  // MS-SMB2 2.2.3.1.5
  std::uint32_t flags = 0;
  bool operator==(const TransportCapabilities&) const = default;
};
struct RdmaTransformCapabilities {  // MS-SMB2 2.2.3.1.6
  std::vector<RdmaTransformId> transform_ids;
  bool operator==(const RdmaTransformCapabilities&) const = default;
};
struct SigningCapabilities {  // MS-SMB2 2.2.3.1.7
  std::vector<SigningAlgorithmId> signing_algorithms;
  bool operator==(const SigningCapabilities&) const = default;
};

NtStatus decode_context(ByteSpan data, PreauthIntegrityCapabilities& out);
NtStatus decode_context(ByteSpan data, EncryptionCapabilities& out);
NtStatus decode_context(ByteSpan data, CompressionCapabilities& out);
NtStatus decode_context(ByteSpan data, NetnameNegotiateContext& out);
NtStatus decode_context(ByteSpan data, TransportCapabilities& out);
NtStatus decode_context(ByteSpan data, RdmaTransformCapabilities& out);
NtStatus decode_context(ByteSpan data, SigningCapabilities& out);

NegotiateContext to_context(const PreauthIntegrityCapabilities& c);
NegotiateContext to_context(const EncryptionCapabilities& c);
NegotiateContext to_context(const CompressionCapabilities& c);
NegotiateContext to_context(const NetnameNegotiateContext& c);
NegotiateContext to_context(const TransportCapabilities& c);
NegotiateContext to_context(const RdmaTransformCapabilities& c);
NegotiateContext to_context(const SigningCapabilities& c);

// MS-SMB2 2.2.3. When `dialects` holds 3.1.1 the 8 bytes after ClientGuid are
// NegotiateContextOffset/Count and `contexts` is used; otherwise they are ClientStartTime
// (which MUST be zero) and `contexts` is ignored by encode and left empty by decode.
struct NegotiateRequest {
  std::uint16_t security_mode = 0;
  std::uint32_t capabilities = 0;
  Guid client_guid{};
  std::vector<std::uint16_t> dialects;
  std::vector<NegotiateContext> contexts;
  bool operator==(const NegotiateRequest&) const = default;
  bool offers(Dialect d) const;
};

// MS-SMB2 2.2.4. `contexts` are written and read only for dialect 3.1.1.
struct NegotiateResponse {
  std::uint16_t security_mode = 0;
  std::uint16_t dialect_revision = 0;
  Guid server_guid{};
  std::uint32_t capabilities = 0;
  std::uint32_t max_transact_size = 0;
  std::uint32_t max_read_size = 0;
  std::uint32_t max_write_size = 0;
  std::uint64_t system_time = 0;
  std::uint64_t server_start_time = 0;
  Bytes security_buffer;
  std::vector<NegotiateContext> contexts;
  bool operator==(const NegotiateResponse&) const = default;
};

// MS-SMB2 3.3.5.4: DialectCount 0 is STATUS_INVALID_PARAMETER.
NtStatus decode(ByteSpan pdu, NegotiateRequest& out);
NtStatus decode(ByteSpan pdu, NegotiateResponse& out);
void encode(const NegotiateRequest& request, ByteWriter& w);
void encode(const NegotiateResponse& response, ByteWriter& w);

// Recognises an SMB1 SMB_COM_NEGOTIATE request ([MS-CIFS] 2.2.4.52.1; 0xFF 'SMB', command
// 0x72) and returns the dialect strings it offers (e.g. "SMB 2.002", "SMB 2.???").
// False for anything else or anything malformed.
bool decode_smb1_negotiate(ByteSpan message, std::vector<std::string>& dialects);

}  // namespace smb
