#include "smbd/worker/negotiate_policy.hh"

#include <openssl/rand.h>

#include <algorithm>

#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

constexpr std::uint16_t kAllDialects[] = {0x0202, 0x0210, 0x0300, 0x0302, 0x0311};
constexpr auto kNoPreauthOverlap = static_cast<NtStatus>(0xC05D0000);

std::vector<crypto::Cipher> cipher_preference(const conf::Global& g) {
  if (!g.encryption_algorithms.empty()) return g.encryption_algorithms;
  return {crypto::Cipher::AES_128_GCM, crypto::Cipher::AES_128_CCM, crypto::Cipher::AES_256_GCM,
          crypto::Cipher::AES_256_CCM};
}

std::vector<crypto::SigningAlgorithm> signing_preference(const conf::Global& g) {
  if (!g.signing_algorithms.empty()) return g.signing_algorithms;
  return {crypto::SigningAlgorithm::AES_GMAC, crypto::SigningAlgorithm::AES_CMAC,
          crypto::SigningAlgorithm::HMAC_SHA256};
}

}  // namespace

const char* dialect_name(std::uint16_t dialect) {
  switch (dialect) {
    case 0x0202:
      return "SMB 2.0.2";
    case 0x0210:
      return "SMB 2.1";
    case 0x0300:
      return "SMB 3.0";
    case 0x0302:
      return "SMB 3.0.2";
    case 0x0311:
      return "SMB 3.1.1";
    case 0x02FF:
      return "SMB 2.???";
    default:
      return "unknown";
  }
}

NegotiationChoice choose_negotiation(const conf::Global& g, const NegotiateRequest& request) {
  NegotiationChoice choice;
  // The highest dialect both sides speak within the configured range (MS-SMB2 3.3.5.4).
  for (std::uint16_t d : kAllDialects) {
    if (d < g.server_min_protocol || d > g.server_max_protocol) continue;
    if (std::find(request.dialects.begin(), request.dialects.end(), d) != request.dialects.end())
      choice.dialect = d;
  }
  if (choice.dialect == 0) {
    choice.status = NtStatus::NOT_SUPPORTED;
    choice.reason = "no common dialect";
    return choice;
  }
  bool encryption_enabled = g.smb_encrypt != conf::Encrypt::OFF;

  if (choice.dialect == 0x0311) {
    // Preauth integrity: exactly one context naming SHA-512 (MS-SMB2 3.3.5.4).
    std::size_t preauth_count = std::count_if(
        request.contexts.begin(), request.contexts.end(), [](const NegotiateContext& c) {
          return c.type == NegotiateContextType::SMB2_PREAUTH_INTEGRITY_CAPABILITIES;
        });
    const NegotiateContext* preauth =
        find_context(request.contexts, NegotiateContextType::SMB2_PREAUTH_INTEGRITY_CAPABILITIES);
    PreauthIntegrityCapabilities caps;
    if (preauth_count != 1 || decode_context(preauth->data, caps) != NtStatus::SUCCESS ||
        caps.hash_algorithms.empty()) {
      choice.status = NtStatus::INVALID_PARAMETER;
      choice.reason = "bad preauth integrity context";
      return choice;
    }
    if (std::find(caps.hash_algorithms.begin(), caps.hash_algorithms.end(),
                  HashAlgorithm::SHA_512) == caps.hash_algorithms.end()) {
      choice.status = kNoPreauthOverlap;
      choice.reason = "no common preauth hash";
      return choice;
    }
    if (const NegotiateContext* enc =
            find_context(request.contexts, NegotiateContextType::SMB2_ENCRYPTION_CAPABILITIES)) {
      EncryptionCapabilities offered;
      if (decode_context(enc->data, offered) != NtStatus::SUCCESS || offered.ciphers.empty()) {
        choice.status = NtStatus::INVALID_PARAMETER;
        choice.reason = "bad encryption context";
        return choice;
      }
      if (encryption_enabled) {
        for (crypto::Cipher c : cipher_preference(g)) {
          auto id = static_cast<CipherId>(static_cast<std::uint16_t>(c));
          if (std::find(offered.ciphers.begin(), offered.ciphers.end(), id) != offered.ciphers.end()) {
            choice.cipher = c;
            break;
          }
        }
      }
    }
    choice.signing_algorithm = crypto::SigningAlgorithm::AES_CMAC;
    if (const NegotiateContext* sig =
            find_context(request.contexts, NegotiateContextType::SMB2_SIGNING_CAPABILITIES)) {
      SigningCapabilities offered;
      if (decode_context(sig->data, offered) != NtStatus::SUCCESS ||
          offered.signing_algorithms.empty()) {
        choice.status = NtStatus::INVALID_PARAMETER;
        choice.reason = "bad signing context";
        return choice;
      }
      choice.signing_context = true;
      for (crypto::SigningAlgorithm a : signing_preference(g)) {
        auto id = static_cast<SigningAlgorithmId>(static_cast<std::uint16_t>(a));
        if (std::find(offered.signing_algorithms.begin(), offered.signing_algorithms.end(), id) !=
            offered.signing_algorithms.end()) {
          choice.signing_algorithm = a;
          break;
        }
      }
    }
  } else if (choice.dialect >= 0x0300) {
    choice.signing_algorithm = crypto::SigningAlgorithm::AES_CMAC;
    if (encryption_enabled && (request.capabilities & kGlobalCapEncryption) != 0)
      choice.cipher = crypto::Cipher::AES_128_CCM;
  }
  choice.status_ok = true;
  return choice;
}

std::uint16_t server_security_mode(const Worker& worker) {
  std::uint16_t mode = kNegotiateSigningEnabled;
  if (worker.config().conf.global.server_signing == conf::Signing::MANDATORY)
    mode |= kNegotiateSigningRequired;
  return mode;
}

std::uint32_t server_capabilities(const Worker& worker, std::uint16_t dialect,
                                  std::uint32_t client_capabilities) {
  const auto& g = worker.config().conf.global;
  std::uint32_t caps = 0;
  if (dialect >= 0x0210) caps |= kGlobalCapLargeMtu;
  // MS-SMB2 3.3.5.4: leases (the host table's, fsa/caching.hh) from 2.1.
  if (dialect >= 0x0210 && worker.config().open_segment) caps |= kGlobalCapLeasing;
  // Directory leases (v2 leases on directories, broken by changes of their entries) from
  // 3.0 to a client that offers them (as Samba answers; impacket, which does not, fails
  // its CREATEs when told of them), where leases are the table's: not where a share
  // leaves caching to the kernel.
  const auto& shares = worker.config().conf.shares;
  if (dialect >= 0x0300 && (caps & kGlobalCapLeasing) != 0 &&
      (client_capabilities & kGlobalCapDirectoryLeasing) != 0 &&
      std::none_of(shares.begin(), shares.end(),
                   [](const conf::Share& share) { return share.kernel_oplocks; }))
    caps |= kGlobalCapDirectoryLeasing;
  if (dialect >= 0x0300 && g.server_multi_channel_support) caps |= kGlobalCapMultiChannel;
  if ((dialect == 0x0300 || dialect == 0x0302) && g.smb_encrypt != conf::Encrypt::OFF &&
      (client_capabilities & kGlobalCapEncryption) != 0)
    caps |= kGlobalCapEncryption;
  return caps;
}

void add_negotiate_contexts(NegotiateResponse& response, const NegotiateRequest& request,
                            const NegotiationChoice& choice, bool encryption_offered) {
  PreauthIntegrityCapabilities preauth;
  preauth.hash_algorithms = {HashAlgorithm::SHA_512};
  preauth.salt.resize(choice.preauth_salt_length);
  RAND_bytes(preauth.salt.data(), static_cast<int>(preauth.salt.size()));
  response.contexts.push_back(to_context(preauth));
  // MS-SMB2 3.3.5.4: a server that does not encrypt sends no encryption context.
  if (encryption_offered &&
      find_context(request.contexts, NegotiateContextType::SMB2_ENCRYPTION_CAPABILITIES)) {
    // MS-SMB2 3.3.5.4: one cipher, or 0 when there is none in common.
    EncryptionCapabilities chosen;
    chosen.ciphers = {choice.cipher ? static_cast<CipherId>(static_cast<std::uint16_t>(*choice.cipher))
                                    : static_cast<CipherId>(0)};
    response.contexts.push_back(to_context(chosen));
  }
  if (choice.signing_context) {
    SigningCapabilities chosen;
    chosen.signing_algorithms = {
        static_cast<SigningAlgorithmId>(static_cast<std::uint16_t>(choice.signing_algorithm))};
    response.contexts.push_back(to_context(chosen));
  }
}

}  // namespace smb::server
