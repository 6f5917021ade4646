#include "smbd/proto/create.hh"

#include <algorithm>

#include "smbd/proto/body.hh"

namespace smb {

namespace {

constexpr std::uint16_t kRequestSize = 57;   // MS-SMB2 2.2.13
constexpr std::uint16_t kResponseSize = 89;  // MS-SMB2 2.2.14
constexpr std::uint64_t kContextHeaderSize = 16;

CreateContext make(std::string_view name, Bytes data) {
  return CreateContext{std::string(name), std::move(data)};
}

NtStatus expect_size(ByteSpan data, std::size_t size) {
  return data.size() == size ? NtStatus::SUCCESS : NtStatus::INVALID_PARAMETER;
}

}  // namespace

const CreateContext* find_context(const std::vector<CreateContext>& contexts,
                                  std::string_view name) {
  auto it = std::find_if(contexts.begin(), contexts.end(),
                         [name](const CreateContext& c) { return c.name == name; });
  return it == contexts.end() ? nullptr : &*it;
}

NtStatus decode_create_contexts(ByteSpan region, std::vector<CreateContext>& out) {
  out.clear();
  const std::uint64_t size = region.size();
  std::uint64_t at = 0;
  while (at < size) {
    if (!in_bounds(at, kContextHeaderSize, size)) return NtStatus::INVALID_PARAMETER;
    const std::uint8_t* p = region.data() + at;
    std::uint64_t next = load_le32(p);
    std::uint64_t name_offset = load_le16(p + 4);
    std::uint64_t name_length = load_le16(p + 6);
    std::uint64_t data_offset = load_le16(p + 10);
    std::uint64_t data_length = load_le32(p + 12);
    std::uint64_t extent = size - at;
    if (next != 0) {
      // MS-SMB2 2.2.13.2: the next context starts 8-byte aligned, after this one.
      if (next % 8 != 0 || next < kContextHeaderSize || next >= extent)
        return NtStatus::INVALID_PARAMETER;
      extent = next;
    }
    // Every context name has at least four bytes (the tags of 2.2.13.2, or a GUID);
    // Windows refuses a shorter one with INVALID_PARAMETER.
    if (name_length < 4 || name_offset < kContextHeaderSize ||
        !in_bounds(name_offset, name_length, extent))
      return NtStatus::INVALID_PARAMETER;
    CreateContext c;
    c.name.assign(reinterpret_cast<const char*>(p + name_offset),
                  static_cast<std::size_t>(name_length));
    if (data_length != 0) {
      if (data_offset < name_offset + name_length || !in_bounds(data_offset, data_length, extent))
        return NtStatus::INVALID_PARAMETER;
      c.data.assign(p + data_offset, p + data_offset + data_length);
    }
    out.push_back(std::move(c));
    if (next == 0) break;
    at += next;
  }
  return NtStatus::SUCCESS;
}

void encode_create_contexts(const std::vector<CreateContext>& contexts, ByteWriter& w,
                            std::size_t base) {
  std::size_t previous = 0;
  for (std::size_t i = 0; i < contexts.size(); ++i) {
    w.align(8, base);
    std::size_t start = w.size();
    if (i > 0) w.patch_u32(previous, static_cast<std::uint32_t>(start - previous));
    previous = start;
    const auto& c = contexts[i];
    std::size_t data_offset = c.data.empty() ? 0 : (16 + c.name.size() + 7) & ~std::size_t{7};
    w.u32(0);  // Next, patched when another context follows
    w.u16(16);
    w.u16(static_cast<std::uint16_t>(c.name.size()));
    w.u16(0);
    w.u16(static_cast<std::uint16_t>(data_offset));
    w.u32(static_cast<std::uint32_t>(c.data.size()));
    w.bytes(ByteSpan(reinterpret_cast<const std::uint8_t*>(c.name.data()), c.name.size()));
    if (!c.data.empty()) {
      w.align(8, base);
      w.bytes(c.data);
    }
  }
}

NtStatus decode_context(ByteSpan data, DurableHandleRequest&) { return expect_size(data, 16); }
NtStatus decode_context(ByteSpan data, DurableHandleResponse&) { return expect_size(data, 8); }

NtStatus decode_context(ByteSpan data, DurableHandleReconnect& out) {
  if (data.size() != 16) return NtStatus::INVALID_PARAMETER;
  ByteReader r(data);
  out.file_id = read_file_id(r);
  return NtStatus::SUCCESS;
}

NtStatus decode_context(ByteSpan data, DurableHandleRequestV2& out) {
  if (data.size() != 32) return NtStatus::INVALID_PARAMETER;
  ByteReader r(data);
  out.timeout = r.u32();
  out.flags = r.u32();
  r.skip(8);
  out.create_guid = read_guid(r);
  return NtStatus::SUCCESS;
}

NtStatus decode_context(ByteSpan data, DurableHandleResponseV2& out) {
  if (data.size() != 8) return NtStatus::INVALID_PARAMETER;
  ByteReader r(data);
  out.timeout = r.u32();
  out.flags = r.u32();
  return NtStatus::SUCCESS;
}

NtStatus decode_context(ByteSpan data, DurableHandleReconnectV2& out) {
  if (data.size() != 36) return NtStatus::INVALID_PARAMETER;
  ByteReader r(data);
  out.file_id = read_file_id(r);
  out.create_guid = read_guid(r);
  out.flags = r.u32();
  return NtStatus::SUCCESS;
}

NtStatus decode_context(ByteSpan data, QueryMaximalAccessRequest& out) {
  if (data.empty()) {
    out.timestamp.reset();
    return NtStatus::SUCCESS;
  }
  if (data.size() != 8) return NtStatus::INVALID_PARAMETER;
  out.timestamp = load_le64(data.data());
  return NtStatus::SUCCESS;
}

NtStatus decode_context(ByteSpan data, QueryMaximalAccessResponse& out) {
  if (data.size() != 8) return NtStatus::INVALID_PARAMETER;
  out.query_status = static_cast<NtStatus>(load_le32(data.data()));
  out.maximal_access = load_le32(data.data() + 4);
  return NtStatus::SUCCESS;
}

NtStatus decode_context(ByteSpan data, QueryOnDiskIdResponse& out) {
  if (data.size() != 32) return NtStatus::INVALID_PARAMETER;
  out.disk_file_id = load_le64(data.data());
  out.volume_id = load_le64(data.data() + 8);
  return NtStatus::SUCCESS;
}

NtStatus decode_context(ByteSpan data, LeaseContext& out) {
  if (data.size() != 32 && data.size() != 52) return NtStatus::INVALID_PARAMETER;
  ByteReader r(data);
  LeaseContext c;
  c.v2 = data.size() == 52;
  c.lease_key = read_guid(r);
  c.lease_state = r.u32();
  c.lease_flags = r.u32();
  c.lease_duration = r.u64();
  if (c.v2) {
    c.parent_lease_key = read_guid(r);
    c.epoch = r.u16();
  }
  out = c;
  return NtStatus::SUCCESS;
}

NtStatus decode_context(ByteSpan data, TimewarpToken& out) {
  if (data.size() != 8) return NtStatus::INVALID_PARAMETER;
  out.timestamp = load_le64(data.data());
  return NtStatus::SUCCESS;
}

NtStatus decode_context(ByteSpan data, AllocationSize& out) {
  if (data.size() != 8) return NtStatus::INVALID_PARAMETER;
  out.allocation_size = load_le64(data.data());
  return NtStatus::SUCCESS;
}

CreateContext to_context(const DurableHandleRequest&) {
  return make(kCreateDurableHandleRequest, Bytes(16, 0));
}
CreateContext to_context(const DurableHandleResponse&) {
  return make(kCreateDurableHandleRequest, Bytes(8, 0));
}
CreateContext to_context(const DurableHandleReconnect& c) {
  Bytes data;
  ByteWriter w(data);
  write_file_id(w, c.file_id);
  return make(kCreateDurableHandleReconnect, std::move(data));
}
CreateContext to_context(const DurableHandleRequestV2& c) {
  Bytes data;
  ByteWriter w(data);
  w.u32(c.timeout);
  w.u32(c.flags);
  w.u64(0);
  write_guid(w, c.create_guid);
  return make(kCreateDurableHandleRequestV2, std::move(data));
}
CreateContext to_context(const DurableHandleResponseV2& c) {
  Bytes data;
  ByteWriter w(data);
  w.u32(c.timeout);
  w.u32(c.flags);
  return make(kCreateDurableHandleRequestV2, std::move(data));
}
CreateContext to_context(const DurableHandleReconnectV2& c) {
  Bytes data;
  ByteWriter w(data);
  write_file_id(w, c.file_id);
  write_guid(w, c.create_guid);
  w.u32(c.flags);
  return make(kCreateDurableHandleReconnectV2, std::move(data));
}
CreateContext to_context(const QueryMaximalAccessRequest& c) {
  Bytes data;
  ByteWriter w(data);
  if (c.timestamp) w.u64(*c.timestamp);
  return make(kCreateQueryMaximalAccess, std::move(data));
}
CreateContext to_context(const QueryMaximalAccessResponse& c) {
  Bytes data;
  ByteWriter w(data);
  w.u32(static_cast<std::uint32_t>(c.query_status));
  w.u32(c.maximal_access);
  return make(kCreateQueryMaximalAccess, std::move(data));
}
CreateContext to_context(const QueryOnDiskIdResponse& c) {
  Bytes data;
  ByteWriter w(data);
  w.u64(c.disk_file_id);
  w.u64(c.volume_id);
  w.zeros(16);
  return make(kCreateQueryOnDiskId, std::move(data));
}
CreateContext to_context(const LeaseContext& c) {
  Bytes data;
  ByteWriter w(data);
  write_guid(w, c.lease_key);
  w.u32(c.lease_state);
  w.u32(c.lease_flags);
  w.u64(c.lease_duration);
  if (c.v2) {
    write_guid(w, c.parent_lease_key);
    w.u16(c.epoch);
    w.u16(0);
  }
  return make(kCreateRequestLease, std::move(data));
}
CreateContext to_context(const TimewarpToken& c) {
  Bytes data;
  ByteWriter w(data);
  w.u64(c.timestamp);
  return make(kCreateTimewarpToken, std::move(data));
}
CreateContext to_context(const AllocationSize& c) {
  Bytes data;
  ByteWriter w(data);
  w.u64(c.allocation_size);
  return make(kCreateAllocationSize, std::move(data));
}

namespace {

NtStatus decode_context_region(ByteSpan pdu, std::uint64_t offset, std::uint64_t length,
                               std::uint16_t structure_size, std::vector<CreateContext>& out) {
  ByteSpan region;
  if (!body::buffer(pdu, offset, length, structure_size, region))
    return NtStatus::INVALID_PARAMETER;
  return decode_create_contexts(region, out);
}

}  // namespace

NtStatus decode(ByteSpan pdu, CreateRequest& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kRequestSize, r); s != NtStatus::SUCCESS) return s;
  CreateRequest q;
  q.security_flags = r.u8();
  q.requested_oplock_level = static_cast<OplockLevel>(r.u8());
  q.impersonation_level = static_cast<ImpersonationLevel>(r.u32());
  q.smb_create_flags = r.u64();
  r.skip(8);  // Reserved
  q.desired_access = r.u32();
  q.file_attributes = r.u32();
  q.share_access = r.u32();
  q.create_disposition = static_cast<CreateDisposition>(r.u32());
  q.create_options = r.u32();
  std::uint16_t name_offset = r.u16();
  std::uint16_t name_length = r.u16();
  std::uint32_t contexts_offset = r.u32();
  std::uint32_t contexts_length = r.u32();
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  ByteSpan name;
  if (!body::buffer(pdu, name_offset, name_length, kRequestSize, name))
    return NtStatus::INVALID_PARAMETER;
  if (!utf16le_to_utf8(name, q.name)) return NtStatus::OBJECT_NAME_INVALID;
  NtStatus s =
      decode_context_region(pdu, contexts_offset, contexts_length, kRequestSize, q.contexts);
  if (s != NtStatus::SUCCESS) return s;
  out = std::move(q);
  return NtStatus::SUCCESS;
}

void encode(const CreateRequest& q, ByteWriter& w) {
  std::size_t header = body::header_start(w);
  Bytes name = utf16le(q.name);
  w.u16(kRequestSize);
  w.u8(q.security_flags);
  w.u8(static_cast<std::uint8_t>(q.requested_oplock_level));
  w.u32(static_cast<std::uint32_t>(q.impersonation_level));
  w.u64(q.smb_create_flags);
  w.u64(0);
  w.u32(q.desired_access);
  w.u32(q.file_attributes);
  w.u32(q.share_access);
  w.u32(static_cast<std::uint32_t>(q.create_disposition));
  w.u32(q.create_options);
  w.u16(static_cast<std::uint16_t>(kSmb2HeaderSize + body::fixed_size(kRequestSize)));
  w.u16(static_cast<std::uint16_t>(name.size()));
  std::size_t contexts_at = w.size();
  w.u32(0);
  w.u32(0);
  w.bytes(name);
  if (!q.contexts.empty()) {
    w.align(8, header);
    std::size_t start = w.size();
    encode_create_contexts(q.contexts, w, header);
    w.patch_u32(contexts_at, static_cast<std::uint32_t>(start - header));
    w.patch_u32(contexts_at + 4, static_cast<std::uint32_t>(w.size() - start));
  }
  body::pad_empty_buffer(w, header, kRequestSize);
}

NtStatus decode(ByteSpan pdu, CreateResponse& out) {
  ByteReader r(pdu);
  if (NtStatus s = body::begin(pdu, kResponseSize, r); s != NtStatus::SUCCESS) return s;
  CreateResponse p;
  p.oplock_level = static_cast<OplockLevel>(r.u8());
  p.flags = r.u8();
  p.create_action = static_cast<CreateAction>(r.u32());
  p.creation_time = r.u64();
  p.last_access_time = r.u64();
  p.last_write_time = r.u64();
  p.change_time = r.u64();
  p.allocation_size = r.u64();
  p.end_of_file = r.u64();
  p.file_attributes = r.u32();
  r.skip(4);  // Reserved2
  p.file_id = read_file_id(r);
  std::uint32_t contexts_offset = r.u32();
  std::uint32_t contexts_length = r.u32();
  if (!r.ok()) return NtStatus::INVALID_PARAMETER;
  NtStatus s =
      decode_context_region(pdu, contexts_offset, contexts_length, kResponseSize, p.contexts);
  if (s != NtStatus::SUCCESS) return s;
  out = std::move(p);
  return NtStatus::SUCCESS;
}

void encode(const CreateResponse& p, ByteWriter& w) {
  std::size_t header = body::header_start(w);
  w.u16(kResponseSize);
  w.u8(static_cast<std::uint8_t>(p.oplock_level));
  w.u8(p.flags);
  w.u32(static_cast<std::uint32_t>(p.create_action));
  w.u64(p.creation_time);
  w.u64(p.last_access_time);
  w.u64(p.last_write_time);
  w.u64(p.change_time);
  w.u64(p.allocation_size);
  w.u64(p.end_of_file);
  w.u32(p.file_attributes);
  w.u32(0);
  write_file_id(w, p.file_id);
  std::size_t contexts_at = w.size();
  w.u32(0);
  w.u32(0);
  if (!p.contexts.empty()) {
    w.align(8, header);
    std::size_t start = w.size();
    encode_create_contexts(p.contexts, w, header);
    w.patch_u32(contexts_at, static_cast<std::uint32_t>(start - header));
    w.patch_u32(contexts_at + 4, static_cast<std::uint32_t>(w.size() - start));
  }
  body::pad_empty_buffer(w, header, kResponseSize);
}

}  // namespace smb
