#include "smbd/vfs/access_check.hh"

#include "smbd/base/wire.hh"

namespace smb::vfs {

namespace {

namespace am = access_mask;

constexpr std::uint32_t kOwnerImplicit = am::READ_CONTROL | am::WRITE_DAC;

bool effective(const dtyp::Ace& ace) {
  return (ace.flags & dtyp::ace_flag::INHERIT_ONLY_ACE) == 0 && ace.is_simple();
}

// Whether an ACE applies to the token: its SID is in the token, or it names OWNER
// RIGHTS and the token is the owner's.
bool applies(const dtyp::Ace& ace, const NtToken& token, bool is_owner) {
  if (is_owner && ace.sid == owner_rights_sid()) return true;
  return token.has(ace.sid);
}

}  // namespace

std::uint32_t map_generic_file_rights(std::uint32_t mask) {
  std::uint32_t out =
      mask & ~(am::GENERIC_READ | am::GENERIC_WRITE | am::GENERIC_EXECUTE | am::GENERIC_ALL);
  if (mask & am::GENERIC_READ) out |= kFileGenericReadAccess;
  if (mask & am::GENERIC_WRITE) out |= kFileGenericWriteAccess;
  if (mask & am::GENERIC_EXECUTE) out |= kFileGenericExecuteAccess;
  if (mask & am::GENERIC_ALL) out |= kFileAllAccess;
  return out;
}

NtStatus access_check(const dtyp::SecurityDescriptor& sd, const NtToken& token,
                      std::uint32_t desired, std::uint32_t& granted) {
  granted = 0;
  std::uint32_t wanted = map_generic_file_rights(desired);
  const bool maximum = (wanted & am::MAXIMUM_ALLOWED) != 0;
  wanted &= ~am::MAXIMUM_ALLOWED;

  if (token.is_root) {
    granted = wanted | (maximum ? kFileAllAccess | am::ACCESS_SYSTEM_SECURITY : 0);
    return NtStatus::SUCCESS;
  }
  if (wanted & am::ACCESS_SYSTEM_SECURITY) return NtStatus::PRIVILEGE_NOT_HELD;

  // [MS-DTYP] 2.4.6: a NULL DACL grants everything.
  if (!sd.dacl) {
    granted = wanted | (maximum ? kFileAllAccess : 0);
    return NtStatus::SUCCESS;
  }

  const bool is_owner = sd.owner && token.has(*sd.owner);
  bool owner_rights_named = false;
  if (is_owner) {
    for (const dtyp::Ace& ace : sd.dacl->aces)
      if (effective(ace) && ace.sid == owner_rights_sid()) owner_rights_named = true;
  }

  std::uint32_t allowed = 0;  // bits an ACE allowed before any denied them
  std::uint32_t denied = 0;   // bits an ACE denied before any allowed them
  if (is_owner && !owner_rights_named) allowed = kOwnerImplicit;
  std::uint32_t remaining = wanted & ~allowed;

  for (const dtyp::Ace& ace : sd.dacl->aces) {
    if (!effective(ace) || !applies(ace, token, is_owner)) continue;
    const std::uint32_t mask = map_generic_file_rights(ace.mask);
    if (ace.type == dtyp::AceType::ACCESS_ALLOWED_ACE_TYPE) {
      allowed |= mask & ~denied;
      remaining &= ~mask;
    } else {
      // An earlier allow wins per bit; a deny of a bit still wanted refuses.
      if (!maximum && (remaining & mask) != 0) return NtStatus::ACCESS_DENIED;
      denied |= mask & ~allowed;
    }
  }

  if (maximum) {
    if ((wanted & ~allowed) != 0) return NtStatus::ACCESS_DENIED;
    // An ACE's bits that no file right has are not granted.
    granted = allowed & kFileAllAccess;
    return NtStatus::SUCCESS;
  }
  if (remaining != 0) return NtStatus::ACCESS_DENIED;
  granted = wanted;
  return NtStatus::SUCCESS;
}

NtStatus access_check_for_open(const dtyp::SecurityDescriptor& sd,
                               const dtyp::SecurityDescriptor* parent, const NtToken& token,
                               std::uint32_t desired, std::uint32_t& granted) {
  const std::uint32_t mapped = map_generic_file_rights(desired);
  // What the parent grants in the file's stead.
  std::uint32_t from_parent = 0;
  if (parent != nullptr) {
    std::uint32_t unused = 0;
    if (access_check(*parent, token, am::FILE_DELETE_CHILD, unused) == NtStatus::SUCCESS)
      from_parent |= am::DELETE;
    if (access_check(*parent, token, am::FILE_LIST_DIRECTORY, unused) == NtStatus::SUCCESS)
      from_parent |= am::FILE_READ_ATTRIBUTES;
  }
  const bool maximum = (mapped & am::MAXIMUM_ALLOWED) != 0;
  const NtStatus status = access_check(sd, token, mapped, granted);
  if (status == NtStatus::SUCCESS) {
    if (maximum) granted |= from_parent;
    return status;
  }
  const std::uint32_t stand_in = mapped & from_parent;
  if (stand_in == 0) return status;
  // The file refused: the request passes when the parent's rights were all it refused.
  std::uint32_t rest = 0;
  if (access_check(sd, token, mapped & ~stand_in, rest) != NtStatus::SUCCESS) return status;
  granted = rest | stand_in | (maximum ? from_parent : 0);
  return NtStatus::SUCCESS;
}

}  // namespace smb::vfs
