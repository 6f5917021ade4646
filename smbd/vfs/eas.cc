#include "smbd/vfs/eas.hh"

#include <strings.h>
#include <cerrno>
#include <memory>

#include "smbd/base/errno_map.hh"
#include "smbd/vfs/xattr.hh"

namespace smb::vfs {

namespace {

constexpr std::string_view kUserPrefix = "user.";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool is_ea_xattr_name(std::string_view name) {
  return name.size() > kUserPrefix.size() && name.substr(0, kUserPrefix.size()) == kUserPrefix &&
         !is_private_xattr(name);
}

// The file's `user.` names that are EAs.
NtStatus ea_xattr_names(int fd, std::vector<std::string>& out) {
  return xattr_names(fd, out, is_ea_xattr_name);
}

}  // namespace

bool is_private_xattr(std::string_view name) {
  // Samba's samba_private_attr_name(): its metadata and vfs modules' attributes.
  for (std::string_view p :
       {"user.SAMBA_PAI", "user.DOSATTRIB", "user.DosStreams", "user.SAMBA_STREAMS",
        "user.DOSATTRIB", "security.NTACL", "user.NTACL", "user.DosAttrib", "user.DosEAs"}) {
    if (iequals(name, p)) return true;
  }
  return istarts_with(name, "user.DosStream.") || istarts_with(name, "user.org.netatalk.");
}

bool valid_ea_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) return false;
    if (std::string_view("\"*+,/:;<=>?[\\]|").find(c) != std::string_view::npos) return false;
  }
  return true;
}

std::string ea_xattr_name(std::string_view ea_name) {
  if (istarts_with(ea_name, kUserPrefix)) return std::string(ea_name);
  return std::string(kUserPrefix) + std::string(ea_name);
}

NtStatus list_eas(int fd, std::vector<ExtendedAttribute>& out) {
  out.clear();
  std::vector<std::string> names;
  if (NtStatus st = ea_xattr_names(fd, names); st != NtStatus::SUCCESS) return st;
  if (names.empty()) return NtStatus::SUCCESS;
  // Not zeroed: only the bytes read are copied out.
  std::unique_ptr<std::uint8_t[]> value(new std::uint8_t[kMaxEaValueSize]);
  for (const std::string& name : names) {
    const ssize_t n = xattr_get(fd, name.c_str(), value.get(), kMaxEaValueSize);
    if (n < 0) {
      if (errno == ENODATA || errno == ERANGE) continue;  // gone meanwhile, or too long
      return last_error();
    }
    ExtendedAttribute ea;
    ea.name = name.substr(kUserPrefix.size());
    ea.value.assign(value.get(), value.get() + n);
    out.push_back(std::move(ea));
  }
  return NtStatus::SUCCESS;
}

NtStatus set_eas(int fd, const std::vector<ExtendedAttribute>& eas) {
  std::vector<std::string> existing;
  if (NtStatus st = ea_xattr_names(fd, existing); st != NtStatus::SUCCESS) return st;
  for (const ExtendedAttribute& ea : eas) {
    std::string name = ea_xattr_name(ea.name);
    if (is_private_xattr(name)) return NtStatus::ACCESS_DENIED;
    // EA names are not case-sensitive: an EA set again keeps its first spelling.
    for (const std::string& e : existing) {
      if (iequals(e, name)) name = e;
    }
    if (ea.value.empty()) {
      if (xattr_remove(fd, name.c_str()) != 0 && errno != ENODATA) return last_error();
      continue;
    }
    if (xattr_set(fd, name.c_str(), ea.value.data(), ea.value.size()) != 0) return last_error();
    existing.push_back(name);
  }
  return NtStatus::SUCCESS;
}

}  // namespace smb::vfs
