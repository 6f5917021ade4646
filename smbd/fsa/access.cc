#include "smbd/fsa/access.hh"

#include "smbd/base/wire.hh"

namespace smb::fsa {

std::uint32_t map_generic_access(std::uint32_t desired, std::uint32_t maximal) {
  namespace am = access_mask;
  constexpr std::uint32_t kGenericBits =
      am::GENERIC_READ | am::GENERIC_WRITE | am::GENERIC_EXECUTE | am::GENERIC_ALL;
  std::uint32_t mapped = desired & ~kGenericBits & ~am::MAXIMUM_ALLOWED;
  if (desired & am::GENERIC_READ) mapped |= kFileGenericReadAccess;
  if (desired & am::GENERIC_WRITE) mapped |= kFileGenericWriteAccess;
  if (desired & am::GENERIC_EXECUTE) mapped |= kFileGenericExecuteAccess;
  if (desired & am::GENERIC_ALL) mapped |= kFileAllAccess;
  if (desired & am::MAXIMUM_ALLOWED) mapped |= maximal;
  return mapped;
}

}  // namespace smb::fsa
