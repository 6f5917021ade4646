#include "smbd/base/errno_map.hh"

#include <cerrno>

namespace smb {

NtStatus errno_to_ntstatus(int err) {
  switch (err) {
    case 0:
      return NtStatus::SUCCESS;
    case ENOENT:
      return NtStatus::OBJECT_NAME_NOT_FOUND;
    case ENOTDIR:
      return NtStatus::OBJECT_PATH_NOT_FOUND;
    case EISDIR:
      return NtStatus::FILE_IS_A_DIRECTORY;
    case EEXIST:
      return NtStatus::OBJECT_NAME_COLLISION;
    case EACCES:
    case EPERM:
      return NtStatus::ACCESS_DENIED;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:  // a write beyond the file system's maximum file size
      return NtStatus::DISK_FULL;
    case EROFS:
      return NtStatus::MEDIA_WRITE_PROTECTED;
    case ENOTEMPTY:
      return NtStatus::DIRECTORY_NOT_EMPTY;
    case EXDEV:
      return NtStatus::NOT_SAME_DEVICE;
    case ENAMETOOLONG:
      return NtStatus::NAME_TOO_LONG;
    case ELOOP:
      return NtStatus::ACCESS_DENIED;
    case EMFILE:
    case ENFILE:
      return NtStatus::TOO_MANY_OPENED_FILES;
    case EINVAL:
    case ERANGE:
    case ESPIPE:
      return NtStatus::INVALID_PARAMETER;
    case EIO:
      return NtStatus::IO_DEVICE_ERROR;
    case ENOMEM:
      return NtStatus::NO_MEMORY;
    case EBADF:
      return NtStatus::INVALID_HANDLE;
    case ENOTSUP:
    case ENOSYS:
      return NtStatus::NOT_SUPPORTED;
    case EBUSY:
    case ETXTBSY:
      return NtStatus::SHARING_VIOLATION;
    case ENODEV:
    case ENXIO:
      return NtStatus::NO_SUCH_DEVICE;
    case EAGAIN:
    case EMLINK:
      return NtStatus::INSUFFICIENT_RESOURCES;
    case ESTALE:
      return NtStatus::FILE_DELETED;
    case EINTR:
      return NtStatus::CANCELLED;
    default:
      return NtStatus::UNSUCCESSFUL;
  }
}

NtStatus last_error() { return errno_to_ntstatus(errno); }

}  // namespace smb
