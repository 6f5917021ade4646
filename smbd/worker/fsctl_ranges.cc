// Sparse files ([MS-FSA] 2.1.5.9.30 FSCTL_SET_SPARSE), zeroing (2.1.5.9.39
// FSCTL_SET_ZERO_DATA) and the allocated ranges (2.1.5.9.22
// FSCTL_QUERY_ALLOCATED_RANGES) of the open an IOCTL is sent on; the file system work is
// vfs/ranges.hh's and runs as the request's user.
#include <limits>
#include <memory>
#include <string>

#include "smbd/base/wire.hh"
#include "smbd/proto/fsctl.hh"
#include "smbd/vfs/file.hh"
#include "smbd/vfs/ranges.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/fsctl.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

namespace am = access_mask;

// The open of a regular file the control applies to, or the status that refuses it.
NtStatus file_open(const RequestPtr& req, Open*& open) {
  open = req->open;
  if (open == nullptr) return NtStatus::FILE_CLOSED;
  if (open->pipe) return NtStatus::INVALID_DEVICE_REQUEST;
  // [MS-FSA] 2.1.5.9.22, .30, .39: not on a directory.
  if (open->is_directory) return NtStatus::INVALID_PARAMETER;
  // A named stream's data is one extended attribute (vfs/streams.hh): it has no ranges,
  // holes or sparseness of its own.
  if (!open->stream.empty()) return NtStatus::NOT_SUPPORTED;
  return NtStatus::SUCCESS;
}

}  // namespace

bool is_sparse(int fd, const std::string& name) {
  vfs::FileInfo info;
  return vfs::query_info(fd, name, info) == NtStatus::SUCCESS &&
         (info.file_attributes & file_attribute::FILE_ATTRIBUTE_SPARSE_FILE) != 0;
}

Open* file_open(const RequestPtr& req) {
  Open* open = req->open;
  if (open == nullptr) {
    req->reply(NtStatus::FILE_CLOSED);
    return nullptr;
  }
  if (open->pipe) {
    req->reply(NtStatus::INVALID_DEVICE_REQUEST);
    return nullptr;
  }
  return open;
}

void fsctl_set_sparse(const RequestPtr& req, const IoctlRequest& request) {
  Open* open = nullptr;
  if (NtStatus s = file_open(req, open); s != NtStatus::SUCCESS) {
    req->reply(s);
    return;
  }
  // [MS-FSA] 2.1.5.9.30: FILE_WRITE_DATA, FILE_WRITE_ATTRIBUTES or FILE_APPEND_DATA.
  if ((open->granted_access &
       (am::FILE_WRITE_DATA | am::FILE_WRITE_ATTRIBUTES | am::FILE_APPEND_DATA)) == 0) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  if (req->tree->read_only) {
    req->reply(NtStatus::MEDIA_WRITE_PROTECTED);
    return;
  }
  bool sparse = true;
  (void)decode_set_sparse(request.input, sparse);
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  run_blocking(
      req->worker.loop(),
      [fd = open->fd, name = std::string(open->name()), sparse, status]() {
        *status = vfs::set_sparse(fd->get(), name, sparse);
      },
      [req, request, status]() {
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        reply_ioctl(req, request, {});
      });
}

void fsctl_set_zero_data(const RequestPtr& req, const IoctlRequest& request) {
  Open* open = nullptr;
  if (NtStatus s = file_open(req, open); s != NtStatus::SUCCESS) {
    req->reply(s);
    return;
  }
  FileZeroDataInformation zero;
  // [MS-FSA] 2.1.5.9.39: a short buffer, negative offsets, or an end before the start.
  if (decode_fsctl(request.input, zero) != NtStatus::SUCCESS || zero.file_offset < 0 ||
      zero.beyond_final_zero < 0 || zero.file_offset > zero.beyond_final_zero) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  if ((open->granted_access & am::FILE_WRITE_DATA) == 0) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  if (req->tree->read_only) {
    req->reply(NtStatus::MEDIA_WRITE_PROTECTED);
    return;
  }
  // [MS-FSA] 2.1.5.9.39: as a WRITE of the range, not through another open's locks.
  if (fsa::ByteRangeLocks* locks = req->client().locks();
      locks != nullptr && zero.beyond_final_zero > zero.file_offset) {
    NtStatus locked = locks->check_io(
        lock_owner_of(*open), static_cast<std::uint64_t>(zero.file_offset),
        static_cast<std::uint64_t>(zero.beyond_final_zero - zero.file_offset), true);
    if (locked != NtStatus::SUCCESS) {
      req->reply(locked);
      return;
    }
  }
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  run_blocking(
      req->worker.loop(),
      [fd = open->fd, name = std::string(open->name()), zero, status]() {
        // Only a sparse file loses the blocks of the range, as on NTFS.
        *status = vfs::zero_range(fd->get(), static_cast<std::uint64_t>(zero.file_offset),
                                  static_cast<std::uint64_t>(zero.beyond_final_zero),
                                  is_sparse(fd->get(), name));
      },
      [req, request, status]() {
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        reply_ioctl(req, request, {});
      });
}

void fsctl_query_allocated_ranges(const RequestPtr& req, const IoctlRequest& request) {
  Open* open = nullptr;
  if (NtStatus s = file_open(req, open); s != NtStatus::SUCCESS) {
    req->reply(s);
    return;
  }
  FileAllocatedRange query;
  // [MS-FSA] 2.1.5.9.22: a short buffer, negative values, or a range past MAXLONGLONG.
  if (decode_fsctl(request.input, query) != NtStatus::SUCCESS || query.file_offset < 0 ||
      query.length < 0 ||
      query.length > std::numeric_limits<std::int64_t>::max() - query.file_offset) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // [MS-FSA] 2.1.5.9.22: reading where the data lies takes FILE_READ_DATA.
  if ((open->granted_access & am::FILE_READ_DATA) == 0) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  struct Job {
    std::vector<vfs::AllocatedRange> ranges;
    bool more = false;
    NtStatus status = NtStatus::SUCCESS;
  };
  auto job = std::make_shared<Job>();
  const std::size_t max_ranges = request.max_output_response / kAllocatedRangeSize;
  run_blocking(
      req->worker.loop(),
      [fd = open->fd, name = std::string(open->name()), query, max_ranges, job]() {
        const auto offset = static_cast<std::uint64_t>(query.file_offset);
        const auto length = static_cast<std::uint64_t>(query.length);
        if (is_sparse(fd->get(), name)) {
          job->status =
              vfs::allocated_ranges(fd->get(), offset, length, max_ranges, job->ranges, job->more);
          return;
        }
        // [MS-FSA] 2.1.5.9.22: a file that is not sparse is allocated throughout: the
        // range up to the end of the file, as one.
        std::uint64_t size = 0;
        job->status = vfs::end_of_file(fd->get(), size);
        if (job->status == NtStatus::SUCCESS && offset < size && length > 0) {
          if (max_ranges == 0)
            job->more = true;
          else
            job->ranges.push_back({offset, std::min(length, size - offset)});
        }
      },
      [req, request, job]() {
        if (job->status != NtStatus::SUCCESS) {
          req->reply(job->status);
          return;
        }
        // [MS-FSA] 2.1.5.9.22: no room for even one range is BUFFER_TOO_SMALL, but only
        // when there is a range to return.
        if (job->more && job->ranges.empty()) {
          req->reply(NtStatus::BUFFER_TOO_SMALL);
          return;
        }
        std::vector<FileAllocatedRange> out;
        for (const auto& r : job->ranges) {
          out.push_back({static_cast<std::int64_t>(r.offset), static_cast<std::int64_t>(r.length)});
        }
        // [MS-FSA] 2.1.5.9.22: the ranges that fit, and BUFFER_OVERFLOW when some did not.
        reply_ioctl(req, request, encode_allocated_ranges(out),
                    job->more ? NtStatus::BUFFER_OVERFLOW : NtStatus::SUCCESS);
      });
}

// [MS-FSCC] 2.3.12, 2.3.67; [MS-FSA] 2.1.5.9.8, 2.1.5.9.27: no file is compressed here
// (the volume does not report FILE_FILE_COMPRESSION); a request to compress is refused
// clearly, one to keep a file uncompressed is what already holds.
void fsctl_compression(const RequestPtr& req, const IoctlRequest& request) {
  Open* open = file_open(req);
  if (open == nullptr) return;
  constexpr std::uint16_t kCompressionFormatNone = 0;
  constexpr std::uint16_t kCompressionFormatDefault = 1;
  constexpr std::uint16_t kCompressionFormatLznt1 = 2;
  if (request.ctl_code == FSCTL_GET_COMPRESSION) {
    if (request.max_output_response < 2) {
      req->reply(NtStatus::INVALID_PARAMETER);
      return;
    }
    Bytes state;
    ByteWriter(state).u16(kCompressionFormatNone);
    reply_ioctl(req, request, std::move(state));
    return;
  }
  ByteReader r(request.input);
  const std::uint16_t format = r.u16();
  if (!r.ok()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  if (format == kCompressionFormatNone) {
    reply_ioctl(req, request, {});
  } else if (format == kCompressionFormatDefault || format == kCompressionFormatLznt1) {
    req->reply(NtStatus::NOT_SUPPORTED);
  } else {
    req->reply(NtStatus::INVALID_PARAMETER);
  }
}

}  // namespace smb::server
