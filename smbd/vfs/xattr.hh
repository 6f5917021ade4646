// Linux extended attributes of a file reached through a descriptor from Share, O_PATH
// ones included (those have no f*xattr calls of their own: their /proc/self/fd entry
// names the very file and nothing else). Each call runs as the calling thread's user and
// returns what the system call returns, errno set on failure.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "smbd/base/ntstatus.hh"

namespace smb::vfs {

// XATTR_LIST_MAX: the longest list of names Linux returns.
inline constexpr std::size_t kMaxXattrList = 65536;
// XATTR_SIZE_MAX: the largest value Linux stores.
inline constexpr std::size_t kMaxXattrValue = 65536;

ssize_t xattr_list(int fd, char* buf, std::size_t size);
ssize_t xattr_get(int fd, const char* name, void* buf, std::size_t size);
// `flags`: 0, XATTR_CREATE or XATTR_REPLACE.
int xattr_set(int fd, const char* name, const void* value, std::size_t size, int flags = 0);
int xattr_remove(int fd, const char* name);

// Every name of the file's attributes, or those `keep` takes when it is given; a file
// system without extended attributes has none (SUCCESS, empty). Otherwise the errno
// mapping's status.
NtStatus xattr_names(int fd, std::vector<std::string>& out,
                     bool (*keep)(std::string_view name) = nullptr);

}  // namespace smb::vfs
