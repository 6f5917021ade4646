#include "smbd/worker/durable.hh"

#include <algorithm>
#include <chrono>

namespace smb::server {

namespace {

constexpr std::size_t kMaxText = 1024;  // a path, a user, a share name
constexpr std::uint8_t kFetchV2 = 1;
constexpr std::uint8_t kFetchLease = 2;

void text(ByteWriter& w, const std::string& s) {
  w.u16(static_cast<std::uint16_t>(std::min(s.size(), kMaxText)));
  w.bytes(ByteSpan(reinterpret_cast<const std::uint8_t*>(s.data()), std::min(s.size(), kMaxText)));
}

bool text(ByteReader& r, std::string& out) {
  std::uint16_t n = r.u16();
  if (!r.ok() || n > kMaxText) return false;
  ByteSpan b = r.bytes(n);
  if (!r.ok()) return false;
  out.assign(reinterpret_cast<const char*>(b.data()), b.size());
  return true;
}

}  // namespace

Bytes encode(const DurableFetch& fetch) {
  Bytes out;
  ByteWriter w(out);
  w.u64(fetch.token);
  w.u64(fetch.persistent_id);
  w.u64(fetch.volatile_id);
  w.u64(fetch.table_token);
  w.u8(
      static_cast<std::uint8_t>((fetch.v2 ? kFetchV2 : 0) | (fetch.lease_asked ? kFetchLease : 0)));
  w.bytes(fetch.create_guid);
  text(w, fetch.owner);
  text(w, fetch.share_name);
  return out;
}

std::optional<DurableFetch> decode_fetch(ByteSpan bytes) {
  ByteReader r(bytes);
  DurableFetch f;
  f.token = r.u64();
  f.persistent_id = r.u64();
  f.volatile_id = r.u64();
  f.table_token = r.u64();
  std::uint8_t flags = r.u8();
  r.copy(f.create_guid);
  if (!r.ok() || !text(r, f.owner) || !text(r, f.share_name) || r.remaining() != 0)
    return std::nullopt;
  f.v2 = (flags & kFetchV2) != 0;
  f.lease_asked = (flags & kFetchLease) != 0;
  return f;
}

Bytes encode_result(std::uint64_t token, NtStatus status, const Open* open) {
  Bytes out;
  ByteWriter w(out);
  w.u64(token);
  w.u32(static_cast<std::uint32_t>(status));
  if (open == nullptr || !open->durable) return out;
  const DurableState& d = *open->durable;
  text(w, open->path);
  w.u64(open->key.device);
  w.u64(open->key.inode);
  w.u32(open->granted_access);
  w.u32(open->share_access);
  w.u8(open->delete_granted_by_acl ? 1 : 0);
  w.u8(static_cast<std::uint8_t>(open->oplock_level));
  w.u8(open->oplock_break_pending ? 1 : 0);
  w.u64(open->position);
  w.u32(open->mode);
  w.bytes(open->lock_sequences);
  w.u8(open->frozen_write_time ? 1 : 0);
  w.u64(open->frozen_write_time.value_or(0));
  w.u8(open->archive_marked ? 1 : 0);
  w.u8(d.v2 ? 1 : 0);
  w.bytes(d.create_guid);
  w.u64(static_cast<std::uint64_t>(d.timeout.count()));
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      d.deadline - std::chrono::steady_clock::now());
  w.u64(static_cast<std::uint64_t>(std::max<std::int64_t>(left.count(), 0)));
  text(w, d.owner);
  text(w, d.share_name);
  return out;
}

bool decode_result(ByteSpan bytes, std::uint64_t& token, NtStatus& status, Open& open) {
  ByteReader r(bytes);
  token = r.u64();
  status = static_cast<NtStatus>(r.u32());
  if (!r.ok()) return false;
  if (status != NtStatus::SUCCESS) return r.remaining() == 0;
  DurableState d;
  if (!text(r, open.path)) return false;
  open.key.device = r.u64();
  open.key.inode = r.u64();
  open.granted_access = r.u32();
  open.share_access = r.u32();
  open.delete_granted_by_acl = r.u8() != 0;
  std::uint8_t level = r.u8();
  if (level != static_cast<std::uint8_t>(fsa::OplockType::LEVEL_BATCH)) return false;
  open.oplock_level = fsa::OplockType::LEVEL_BATCH;
  open.oplock_break_pending = r.u8() != 0;
  open.position = r.u64();
  open.mode = r.u32();
  r.copy(open.lock_sequences);
  bool frozen = r.u8() != 0;
  std::uint64_t frozen_time = r.u64();
  if (frozen) open.frozen_write_time = frozen_time;
  open.archive_marked = r.u8() != 0;
  d.v2 = r.u8() != 0;
  r.copy(d.create_guid);
  d.timeout = std::chrono::milliseconds(std::min<std::uint64_t>(r.u64(), 24ull * 3600 * 1000));
  auto left = std::chrono::milliseconds(std::min<std::uint64_t>(r.u64(), 24ull * 3600 * 1000));
  if (!r.ok() || !text(r, d.owner) || !text(r, d.share_name) || r.remaining() != 0) return false;
  d.deadline = std::chrono::steady_clock::now() + left;
  open.caching_in_table = true;
  open.durable = std::move(d);
  return true;
}

NtStatus check_handover(const Open& open, const DurableFetch& fetch) {
  if (!open.disconnected() || open.durable->share_name != fetch.share_name ||
      (fetch.v2 && open.durable->create_guid != fetch.create_guid))
    return NtStatus::OBJECT_NAME_NOT_FOUND;
  if (open.durable->owner != fetch.owner) return NtStatus::ACCESS_DENIED;
  // Only a batch oplock's open moves (decode_result holds the other side to it).
  if (fetch.lease_asked || open.oplock_level != fsa::OplockType::LEVEL_BATCH ||
      !open.stream.empty() || open.pipe)
    return NtStatus::OBJECT_NAME_NOT_FOUND;
  return NtStatus::SUCCESS;
}

}  // namespace smb::server
