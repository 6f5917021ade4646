// Server-side copy (MS-SMB2 3.3.5.15.5, 3.3.5.15.6): FSCTL_SRV_REQUEST_RESUME_KEY names
// an open as the source of a copy, FSCTL_SRV_COPYCHUNK(_WRITE) copies chunks of it into
// the open the IOCTL is sent on, through copy_file_range(2) where both files are served
// by the POSIX backend (vfs/ranges.hh).
//
// A resume key is the open's FileId followed by 8 random bytes of this worker's: it names
// an open of this client only (a worker serves one client, and looks the key up among
// its own opens), and a key this worker did not give out is not found.
#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include "smbd/base/wire.hh"
#include "smbd/proto/fsctl.hh"
#include "smbd/vfs/ranges.hh"
#include "smbd/vfs/streams.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/fsctl.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

namespace am = access_mask;

// MS-SMB2 3.3.3: ServerSideCopyMaxNumberofChunks, ServerSideCopyMaxChunkSize and
// ServerSideCopyMaxDataSize, Windows' values (3.3.5.15.6 footnote), as Samba's.
constexpr std::uint32_t kMaxChunks = 256;
constexpr std::uint32_t kMaxChunkSize = 1024 * 1024;
constexpr std::uint32_t kMaxDataSize = 16 * 1024 * 1024;
constexpr std::size_t kCopyChunkResponseSize = 12;
constexpr std::size_t kResumeKeyResponseSize = 32;

const std::array<std::uint8_t, 8>& resume_key_tag() {
  static const std::array<std::uint8_t, 8> tag = [] {
    std::array<std::uint8_t, 8> t{};
    std::size_t got = 0;
    while (got < t.size()) {
      ssize_t n = ::getrandom(t.data() + got, t.size() - got, 0);
      if (n > 0) got += static_cast<std::size_t>(n);
    }
    return t;
  }();
  return tag;
}

std::array<std::uint8_t, 24> resume_key_of(const FileId& id) {
  std::array<std::uint8_t, 24> key{};
  store_le64(key.data(), id.persistent);
  store_le64(key.data() + 8, id.volatile_);
  std::memcpy(key.data() + 16, resume_key_tag().data(), 8);
  return key;
}

Open* open_of_resume_key(ClientState& client, const std::array<std::uint8_t, 24>& key) {
  if (std::memcmp(key.data() + 16, resume_key_tag().data(), 8) != 0) return nullptr;
  FileId id{load_le64(key.data()), load_le64(key.data() + 8)};
  return client.open(id);
}

// MS-SMB2 3.3.5.15.6: a request beyond the server's limits fails with
// STATUS_INVALID_PARAMETER and a response that carries the limits.
void reply_limits(const RequestPtr& req, const IoctlRequest& request) {
  CopyChunkResponse limits;
  limits.chunks_written = kMaxChunks;
  limits.chunk_bytes_written = kMaxChunkSize;
  limits.total_bytes_written = kMaxDataSize;
  reply_ioctl(req, request, encode_fsctl(limits), NtStatus::INVALID_PARAMETER);
}

}  // namespace

void fsctl_request_resume_key(const RequestPtr& req, const IoctlRequest& request) {
  Open* open = file_open(req);
  if (open == nullptr) return;
  if (request.max_output_response < kResumeKeyResponseSize) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  ResumeKeyResponse response;
  response.resume_key = resume_key_of(open->id);
  reply_ioctl(req, request, encode_fsctl(response));
}

void fsctl_copychunk(const RequestPtr& req, const IoctlRequest& request) {
  Open* target = file_open(req);
  if (target == nullptr) return;
  if (request.max_output_response < kCopyChunkResponseSize) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  CopyChunkCopy copy;
  if (decode_fsctl(request.input, copy) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  if (copy.chunks.size() > kMaxChunks) {
    reply_limits(req, request);
    return;
  }
  std::uint64_t total = 0;
  for (const auto& chunk : copy.chunks) {
    if (chunk.length == 0 || chunk.length > kMaxChunkSize) {
      reply_limits(req, request);
      return;
    }
    total += chunk.length;
  }
  if (total > kMaxDataSize) {
    reply_limits(req, request);
    return;
  }
  Open* source = open_of_resume_key(req->client(), copy.source_key);
  if (source == nullptr || source->pipe) {
    req->reply(NtStatus::OBJECT_NAME_NOT_FOUND);
    return;
  }
  // MS-SMB2 3.3.5.15.6: the source must be readable (FILE_EXECUTE will do, as on
  // Windows), the target writable, and for FSCTL_SRV_COPYCHUNK readable as well.
  if ((source->granted_access & (am::FILE_READ_DATA | am::FILE_EXECUTE)) == 0 ||
      (target->granted_access & am::FILE_WRITE_DATA) == 0 ||
      (request.ctl_code == FSCTL_SRV_COPYCHUNK &&
       (target->granted_access & am::FILE_READ_DATA) == 0)) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  if (req->tree->read_only) {
    req->reply(NtStatus::MEDIA_WRITE_PROTECTED);
    return;
  }
  if (source->is_directory || target->is_directory || !source->io || !target->io) {
    req->reply(NtStatus::INVALID_DEVICE_REQUEST);
    return;
  }

  // MS-FSA 2.1.5.2, 2.1.5.3: as a READ of the source and a WRITE of the target, not
  // through another open's byte-range locks.
  if (fsa::ByteRangeLocks* locks = req->client().locks()) {
    for (const auto& chunk : copy.chunks) {
      NtStatus status =
          locks->check_io(lock_owner_of(*source), chunk.source_offset, chunk.length, false);
      if (status == NtStatus::SUCCESS)
        status = locks->check_io(lock_owner_of(*target), chunk.target_offset, chunk.length, true);
      if (status != NtStatus::SUCCESS) {
        // Answered with the (empty) copy response, as Windows does.
        reply_ioctl(req, request, encode_fsctl(CopyChunkResponse{}), status);
        return;
      }
    }
  }

  struct Job {
    std::shared_ptr<UniqueFd> source_fd, target_fd;
    std::shared_ptr<vfs::FileData> source_io, target_io;
    std::string source_stream, target_stream;  // named streams: their data is no range
    std::vector<CopyChunk> chunks;
    CopyChunkResponse response;
    NtStatus status = NtStatus::SUCCESS;
  };
  auto job = std::make_shared<Job>();
  job->source_fd = source->fd;
  job->target_fd = target->fd;
  job->source_io = source->io;
  job->target_io = target->io;
  job->source_stream = source->stream;
  job->target_stream = target->stream;
  job->chunks = std::move(copy.chunks);
  run_blocking(
      req->worker.loop(),
      [job]() {
        // A named stream (vfs/streams.hh) is no range of its descriptor: through FileData.
        const bool direct = !job->source_io->mapped() && !job->target_io->mapped() &&
                            job->source_stream.empty() && job->target_stream.empty();
        for (const auto& chunk : job->chunks) {
          // MS-SMB2 3.3.5.15.6: a chunk that reads past the end of the source fails the
          // copy with STATUS_INVALID_VIEW_SIZE, as Windows does.
          std::uint64_t source_size = 0;
          job->status =
              job->source_stream.empty()
                  ? vfs::end_of_file(job->source_fd->get(), source_size)
                  : vfs::stream_size(job->source_fd->get(), job->source_stream, source_size);
          if (job->status != NtStatus::SUCCESS) return;
          if (chunk.source_offset > source_size ||
              chunk.length > source_size - chunk.source_offset) {
            job->status = NtStatus::INVALID_VIEW_SIZE;
            return;
          }
          std::uint64_t done = 0;
          job->status = vfs::copy_range(job->source_fd->get(), *job->source_io, chunk.source_offset,
                                        job->target_fd->get(), *job->target_io, chunk.target_offset,
                                        chunk.length, direct, done);
          job->response.total_bytes_written += static_cast<std::uint32_t>(done);
          if (job->status != NtStatus::SUCCESS) return;
          ++job->response.chunks_written;
        }
      },
      [req, request, job]() {
        // A chunk beyond the source's end is answered with what was copied before it, as
        // Windows does.
        if (job->status == NtStatus::INVALID_VIEW_SIZE) {
          reply_ioctl(req, request, encode_fsctl(job->response), job->status);
          return;
        }
        if (job->status != NtStatus::SUCCESS) {
          req->reply(job->status);
          return;
        }
        reply_ioctl(req, request, encode_fsctl(job->response));
      });
}

}  // namespace smb::server

namespace smb::server {

// [MS-FSA] 2.1.5.9.4: the source is an open of this client named by its FileId; the
// file system clones the range or the request is NOT_SUPPORTED (no copy is made in its
// place: a client asks for a clone because it wants shared blocks).
void fsctl_duplicate_extents(const RequestPtr& req, const IoctlRequest& request) {
  Open* target = file_open(req);
  if (target == nullptr) return;
  DuplicateExtentsData data;
  if (decode_fsctl(request.input, data) != NtStatus::SUCCESS || data.source_file_offset < 0 ||
      data.target_file_offset < 0 || data.byte_count < 0) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // The source is a handle inside the request, not the request's own open: Windows
  // answers one it does not know INVALID_HANDLE.
  Open* source = req->client().open(data.source);
  if (source == nullptr || source->pipe) {
    req->reply(NtStatus::INVALID_HANDLE);
    return;
  }
  if ((source->granted_access & am::FILE_READ_DATA) == 0 ||
      (target->granted_access & am::FILE_WRITE_DATA) == 0) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  if (req->tree->read_only) {
    req->reply(NtStatus::MEDIA_WRITE_PROTECTED);
    return;
  }
  if (source->is_directory || target->is_directory) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // A named stream's data is one extended attribute: no extents to share.
  if (!source->stream.empty() || !target->stream.empty()) {
    req->reply(NtStatus::NOT_SUPPORTED);
    return;
  }
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  run_blocking(
      req->worker.loop(),
      [source_fd = source->fd, target_fd = target->fd, source_name = std::string(source->name()),
       target_name = std::string(target->name()), data, status]() {
        std::uint64_t source_size = 0;
        std::uint64_t target_size = 0;
        *status = vfs::end_of_file(source_fd->get(), source_size);
        if (*status == NtStatus::SUCCESS) *status = vfs::end_of_file(target_fd->get(), target_size);
        if (*status != NtStatus::SUCCESS) return;
        const auto offset = static_cast<std::uint64_t>(data.source_file_offset);
        const auto target_offset = static_cast<std::uint64_t>(data.target_file_offset);
        auto length = static_cast<std::uint64_t>(data.byte_count);
        if (offset > source_size || length > source_size - offset) {
          *status = NtStatus::NOT_SUPPORTED;  // past the source's end: nothing to share
          return;
        }
        // A clone never grows the target: what would land past its end is left out, and
        // the request still succeeds, as Windows Server answers it (smbtorture's
        // dup_extents_len_beyond_dest and sparse_dest).
        if (target_offset >= target_size) length = 0;
        length = std::min(length, target_size - std::min(target_offset, target_size));
        // A sparse source goes only into a sparse target (2.1.5.9.4).
        if (is_sparse(source_fd->get(), source_name) && !is_sparse(target_fd->get(), target_name)) {
          *status = NtStatus::NOT_SUPPORTED;
          return;
        }
        *status =
            vfs::clone_range(source_fd->get(), offset, target_fd->get(), target_offset, length);
      },
      [req, request, status]() {
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        reply_ioctl(req, request, {});
      });
}

}  // namespace smb::server
