// What the server offers and chooses in NEGOTIATE, from its configuration
// (MS-SMB2 3.3.5.4). Pure: no connection state.
#pragma once

#include <optional>
#include <string>

#include "smbd/conf/config.hh"
#include "smbd/crypto/algorithms.hh"
#include "smbd/proto/negotiate.hh"
#include "smbd/base/ntstatus.hh"

namespace smb::server {

class Worker;
class Connection;

struct NegotiationChoice {
  bool status_ok = false;
  NtStatus status = NtStatus::SUCCESS;
  std::string reason;
  std::uint16_t dialect = 0;
  std::optional<crypto::Cipher> cipher;  // 3.0/3.0.2: AES-128-CCM when the client can encrypt
  crypto::SigningAlgorithm signing_algorithm = crypto::SigningAlgorithm::HMAC_SHA256;
  bool signing_context = false;  // the client sent SMB2_SIGNING_CAPABILITIES
  std::uint16_t preauth_salt_length = 32;
};

NegotiationChoice choose_negotiation(const conf::Global& global, const NegotiateRequest& request);

std::uint16_t server_security_mode(const Worker& worker);
std::uint32_t server_capabilities(const Worker& worker, std::uint16_t dialect,
                                  std::uint32_t client_capabilities);
void add_negotiate_contexts(NegotiateResponse& response, const NegotiateRequest& request,
                            const NegotiationChoice& choice, bool encryption_offered);
const char* dialect_name(std::uint16_t dialect);

Bytes build_smb1_negotiate_response(Connection& connection, std::uint16_t dialect);

}  // namespace smb::server
