// SMB2 CREATE request (MS-SMB2 2.2.13) and response (2.2.14), with create contexts
// (2.2.13.2, 2.2.14.2). Ownership: the name and every context are copied into the structs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smbd/base/bytes.hh"
#include "smbd/proto/file_id.hh"
#include "smbd/proto/header.hh"
#include "smbd/base/ntstatus.hh"
#include "smbd/base/wire.hh"

namespace smb {

// MS-SMB2 2.2.13: RequestedOplockLevel; 2.2.14: OplockLevel.
enum class OplockLevel : std::uint8_t {
  NONE = 0x00,
  II = 0x01,
  EXCLUSIVE = 0x08,
  BATCH = 0x09,
  LEASE = 0xFF,
};
// MS-SMB2 2.2.13: ImpersonationLevel.
enum class ImpersonationLevel : std::uint32_t {
  Anonymous = 0,
  Identification = 1,
  Impersonation = 2,
  Delegate = 3,
};
// MS-SMB2 2.2.14: Flags.
inline constexpr std::uint8_t kCreateFlagReparsepoint = 0x01;

// MS-SMB2 2.2.13.2: create context names.
inline constexpr std::string_view kCreateEaBuffer = "ExtA";
inline constexpr std::string_view kCreateSdBuffer = "SecD";
inline constexpr std::string_view kCreateDurableHandleRequest = "DHnQ";
inline constexpr std::string_view kCreateDurableHandleReconnect = "DHnC";
inline constexpr std::string_view kCreateAllocationSize = "AlSi";
inline constexpr std::string_view kCreateQueryMaximalAccess = "MxAc";
inline constexpr std::string_view kCreateTimewarpToken = "TWrp";
inline constexpr std::string_view kCreateQueryOnDiskId = "QFid";
inline constexpr std::string_view kCreateRequestLease = "RqLs";
inline constexpr std::string_view kCreateDurableHandleRequestV2 = "DH2Q";
inline constexpr std::string_view kCreateDurableHandleReconnectV2 = "DH2C";

// One create context (MS-SMB2 2.2.13.2). `name` holds the raw name bytes (four ASCII
// characters for the contexts above, 16-byte GUIDs for others).
struct CreateContext {
  std::string name;
  Bytes data;
  bool operator==(const CreateContext&) const = default;
};

// The first context named `name`, or null.
const CreateContext* find_context(const std::vector<CreateContext>& contexts,
                                  std::string_view name);

// Decodes a chain of create contexts occupying all of `region` (MS-SMB2 2.2.13.2): every
// Next is 8-byte aligned, at least one context header long, and stays inside the region;
// names and data lie inside their own context.
NtStatus decode_create_contexts(ByteSpan region, std::vector<CreateContext>& out);
// Appends the chain, each context 8-byte aligned relative to `base` (the header start).
void encode_create_contexts(const std::vector<CreateContext>& contexts, ByteWriter& w,
                            std::size_t base);

// Typed context data. decode_context checks the length the spec gives for each.
struct DurableHandleRequest {  // DHnQ request, MS-SMB2 2.2.13.2.3
  bool operator==(const DurableHandleRequest&) const = default;
};
struct DurableHandleResponse {  // DHnQ response, MS-SMB2 2.2.14.2.3
  bool operator==(const DurableHandleResponse&) const = default;
};
struct DurableHandleReconnect {  // DHnC, MS-SMB2 2.2.13.2.4
  FileId file_id;
  bool operator==(const DurableHandleReconnect&) const = default;
};
inline constexpr std::uint32_t kDhFlagPersistent = 0x00000002;  // MS-SMB2 2.2.13.2.11
struct DurableHandleRequestV2 {                                 // DH2Q request, MS-SMB2 2.2.13.2.11
  std::uint32_t timeout = 0;
  std::uint32_t flags = 0;
  Guid create_guid{};
  bool operator==(const DurableHandleRequestV2&) const = default;
};
struct DurableHandleResponseV2 {  // DH2Q response, MS-SMB2 2.2.14.2.12
  std::uint32_t timeout = 0;
  std::uint32_t flags = 0;
  bool operator==(const DurableHandleResponseV2&) const = default;
};
struct DurableHandleReconnectV2 {  // DH2C, MS-SMB2 2.2.13.2.12
  FileId file_id;
  Guid create_guid{};
  std::uint32_t flags = 0;
  bool operator==(const DurableHandleReconnectV2&) const = default;
};
struct QueryMaximalAccessRequest {  // MxAc request, MS-SMB2 2.2.13.2.5
  std::optional<std::uint64_t> timestamp;
  bool operator==(const QueryMaximalAccessRequest&) const = default;
};
struct QueryMaximalAccessResponse {  // MxAc response, MS-SMB2 2.2.14.2.5
  NtStatus query_status = NtStatus::SUCCESS;
  std::uint32_t maximal_access = 0;
  bool operator==(const QueryMaximalAccessResponse&) const = default;
};
struct QueryOnDiskIdResponse {  // QFid response, MS-SMB2 2.2.14.2.9
  std::uint64_t disk_file_id = 0;
  std::uint64_t volume_id = 0;
  bool operator==(const QueryOnDiskIdResponse&) const = default;
};
// MS-SMB2 2.2.13.2.8: LeaseState and LeaseFlags.
inline constexpr std::uint32_t kLeaseNone = 0x00;
inline constexpr std::uint32_t kLeaseReadCaching = 0x01;
inline constexpr std::uint32_t kLeaseHandleCaching = 0x02;
inline constexpr std::uint32_t kLeaseWriteCaching = 0x04;
inline constexpr std::uint32_t kLeaseFlagBreakInProgress = 0x00000002;
inline constexpr std::uint32_t kLeaseFlagParentLeaseKeySet = 0x00000004;
// RqLs, request and response alike: version 1 (MS-SMB2 2.2.13.2.8, 32 bytes) or
// version 2 (2.2.13.2.10, 52 bytes, with ParentLeaseKey and Epoch).
struct LeaseContext {
  bool v2 = false;
  Guid lease_key{};
  std::uint32_t lease_state = 0;
  std::uint32_t lease_flags = 0;
  std::uint64_t lease_duration = 0;
  Guid parent_lease_key{};  // v2
  std::uint16_t epoch = 0;  // v2
  bool operator==(const LeaseContext&) const = default;
};
struct TimewarpToken {  // TWrp, MS-SMB2 2.2.13.2.7
  std::uint64_t timestamp = 0;
  bool operator==(const TimewarpToken&) const = default;
};
struct AllocationSize {  // AlSi, MS-SMB2 2.2.13.2.6
  std::uint64_t allocation_size = 0;
  bool operator==(const AllocationSize&) const = default;
};

NtStatus decode_context(ByteSpan data, DurableHandleRequest& out);
NtStatus decode_context(ByteSpan data, DurableHandleResponse& out);
NtStatus decode_context(ByteSpan data, DurableHandleReconnect& out);
NtStatus decode_context(ByteSpan data, DurableHandleRequestV2& out);
NtStatus decode_context(ByteSpan data, DurableHandleResponseV2& out);
NtStatus decode_context(ByteSpan data, DurableHandleReconnectV2& out);
NtStatus decode_context(ByteSpan data, QueryMaximalAccessRequest& out);
NtStatus decode_context(ByteSpan data, QueryMaximalAccessResponse& out);
NtStatus decode_context(ByteSpan data, QueryOnDiskIdResponse& out);
NtStatus decode_context(ByteSpan data, LeaseContext& out);
NtStatus decode_context(ByteSpan data, TimewarpToken& out);
NtStatus decode_context(ByteSpan data, AllocationSize& out);

CreateContext to_context(const DurableHandleRequest& c);
CreateContext to_context(const DurableHandleResponse& c);
CreateContext to_context(const DurableHandleReconnect& c);
CreateContext to_context(const DurableHandleRequestV2& c);
CreateContext to_context(const DurableHandleResponseV2& c);
CreateContext to_context(const DurableHandleReconnectV2& c);
CreateContext to_context(const QueryMaximalAccessRequest& c);
CreateContext to_context(const QueryMaximalAccessResponse& c);
CreateContext to_context(const QueryOnDiskIdResponse& c);
CreateContext to_context(const LeaseContext& c);
CreateContext to_context(const TimewarpToken& c);
CreateContext to_context(const AllocationSize& c);

struct CreateRequest {
  std::uint8_t security_flags = 0;
  OplockLevel requested_oplock_level = OplockLevel::NONE;
  ImpersonationLevel impersonation_level = ImpersonationLevel::Impersonation;
  std::uint64_t smb_create_flags = 0;
  std::uint32_t desired_access = 0;
  std::uint32_t file_attributes = 0;
  std::uint32_t share_access = 0;
  CreateDisposition create_disposition = CreateDisposition::FILE_OPEN;
  std::uint32_t create_options = 0;
  std::string name;  // UTF-8; share-relative, backslash separated
  std::vector<CreateContext> contexts;
  bool operator==(const CreateRequest&) const = default;
};

struct CreateResponse {
  OplockLevel oplock_level = OplockLevel::NONE;
  std::uint8_t flags = 0;
  CreateAction create_action = CreateAction::FILE_OPENED;
  std::uint64_t creation_time = 0;
  std::uint64_t last_access_time = 0;
  std::uint64_t last_write_time = 0;
  std::uint64_t change_time = 0;
  std::uint64_t allocation_size = 0;
  std::uint64_t end_of_file = 0;
  std::uint32_t file_attributes = 0;
  FileId file_id;
  std::vector<CreateContext> contexts;
  bool operator==(const CreateResponse&) const = default;
};

// A name that is not valid UTF-16LE (odd length, unpaired surrogate) is
// STATUS_OBJECT_NAME_INVALID; any other malformed field STATUS_INVALID_PARAMETER.
NtStatus decode(ByteSpan pdu, CreateRequest& out);
NtStatus decode(ByteSpan pdu, CreateResponse& out);
void encode(const CreateRequest& request, ByteWriter& w);
void encode(const CreateResponse& response, ByteWriter& w);

}  // namespace smb
