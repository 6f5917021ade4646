#include "smbd/vfs/eas.hh"

#include <sys/xattr.h>

#include <strings.h>
#include <cerrno>

#include "smbd/base/errno_map.hh"

namespace smb::vfs {

namespace {

constexpr std::string_view kUserPrefix = "user.";
// XATTR_LIST_MAX: the longest list of names Linux returns.
constexpr std::size_t kMaxXattrList = 65536;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// O_PATH descriptors have no xattr calls of their own: their /proc entry names the very
// file and nothing else.
std::string proc_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

ssize_t list_names(int fd, char* buf, std::size_t size) {
  ssize_t n = ::flistxattr(fd, buf, size);
  if (n < 0 && errno == EBADF) n = ::listxattr(proc_path(fd).c_str(), buf, size);
  return n;
}

ssize_t get_value(int fd, const char* name, void* buf, std::size_t size) {
  ssize_t n = ::fgetxattr(fd, name, buf, size);
  if (n < 0 && errno == EBADF) n = ::getxattr(proc_path(fd).c_str(), name, buf, size);
  return n;
}

int set_value(int fd, const char* name, const void* value, std::size_t size) {
  int r = ::fsetxattr(fd, name, value, size, 0);
  if (r != 0 && errno == EBADF) r = ::setxattr(proc_path(fd).c_str(), name, value, size, 0);
  return r;
}

int remove_value(int fd, const char* name) {
  int r = ::fremovexattr(fd, name);
  if (r != 0 && errno == EBADF) r = ::removexattr(proc_path(fd).c_str(), name);
  return r;
}

// The file's `user.` names that are EAs.
NtStatus ea_xattr_names(int fd, std::vector<std::string>& out) {
  out.clear();
  std::string buf(kMaxXattrList, '\0');
  const ssize_t n = list_names(fd, buf.data(), buf.size());
  if (n < 0) {
    // A file system without extended attributes has no EAs.
    return errno == ENOTSUP ? NtStatus::SUCCESS : last_error();
  }
  std::string_view list(buf.data(), static_cast<std::size_t>(n));
  while (!list.empty()) {
    const std::size_t end = list.find('\0');
    const std::string_view name = list.substr(0, end);
    list.remove_prefix(end == std::string_view::npos ? list.size() : end + 1);
    if (name.size() > kUserPrefix.size() && name.substr(0, kUserPrefix.size()) == kUserPrefix &&
        !is_private_xattr(name)) {
      out.emplace_back(name);
    }
  }
  return NtStatus::SUCCESS;
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
  Bytes value(kMaxEaValueSize);
  for (const std::string& name : names) {
    const ssize_t n = get_value(fd, name.c_str(), value.data(), value.size());
    if (n < 0) {
      if (errno == ENODATA || errno == ERANGE) continue;  // gone meanwhile, or too long
      return last_error();
    }
    ExtendedAttribute ea;
    ea.name = name.substr(kUserPrefix.size());
    ea.value.assign(value.begin(), value.begin() + n);
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
      if (remove_value(fd, name.c_str()) != 0 && errno != ENODATA) return last_error();
      continue;
    }
    if (set_value(fd, name.c_str(), ea.value.data(), ea.value.size()) != 0) return last_error();
    existing.push_back(name);
  }
  return NtStatus::SUCCESS;
}

}  // namespace smb::vfs
