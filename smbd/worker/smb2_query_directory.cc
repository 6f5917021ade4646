// QUERY_DIRECTORY (MS-SMB2 3.3.5.18).
#include "smbd/proto/fscc.hh"
#include "smbd/proto/query_directory.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/info_classes.hh"
#include "smbd/worker/worker.hh"
#include "smbd/vfs/dir.hh"

namespace smb::server {

namespace {

constexpr std::uint32_t kReadDataOrListDirectory = 0x00000001;

// Sizes of the output buffer with its 8-byte header: what the response can hold.
std::size_t output_limit(const Request& req, std::uint32_t requested) {
  std::size_t limit = requested;
  if (Connection* c = req.connection()) limit = std::min(limit, c->max_transact_size());
  return limit;
}

}  // namespace

void handle_query_directory(const RequestPtr& req) {
  QueryDirectoryRequest request;
  if (decode(req->pdu, request) != NtStatus::SUCCESS) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  Open& open = *req->open;
  auto info_class = static_cast<fscc::FileInfoClass>(request.file_information_class);
  if (!fscc::is_directory_class(info_class)) {
    req->reply(NtStatus::INVALID_INFO_CLASS);
    return;
  }
  if (!open.is_directory || open.pipe) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  if ((open.granted_access & kReadDataOrListDirectory) == 0) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  if (request.output_buffer_length > req->connection()->max_transact_size()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  std::uint64_t needed = request.output_buffer_length;
  std::uint16_t charge = req->header.credit_charge == 0 ? 1 : req->header.credit_charge;
  if (req->connection()->negotiated().dialect != 0x0202 &&
      charge < (needed == 0 ? 1 : (needed - 1) / 65536 + 1)) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }

  bool restart = (request.flags & (kRestartScans | kReopen)) != 0;
  bool first = open.enumerator == nullptr;
  if (request.file_name.empty() && first) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // The search pattern is fixed by the first query; a restart or reopen may change it.
  if (first || restart) {
    if (!request.file_name.empty()) open.search_pattern = request.file_name;
  }
  bool single = (request.flags & kReturnSingleEntry) != 0;
  std::size_t limit = output_limit(*req, request.output_buffer_length);

  auto enumerator = open.enumerator;
  bool fresh = false;
  if (!enumerator) {
    enumerator = std::make_shared<vfs::DirEnumerator>();
    open.enumerator = enumerator;
    fresh = true;
  }
  auto fs = open.fs;
  std::string path = open.path;
  std::string pattern = open.search_pattern;
  auto output = std::make_shared<Bytes>();
  auto status = std::make_shared<NtStatus>(NtStatus::SUCCESS);
  bool first_call = first || restart;
  run_blocking(
      req->worker.loop(),
      [enumerator, fs, path, pattern, output, status, fresh, restart, single, limit, info_class,
       first_call]() {
        if (fresh) {
          *status = enumerator->open(*fs, path);
          if (*status != NtStatus::SUCCESS) return;
        } else if (restart) {
          *status = enumerator->restart();
          if (*status != NtStatus::SUCCESS) return;
        }
        ByteWriter w(*output);
        fscc::DirectoryEntryWriter writer(w, info_class, limit);
        for (;;) {
          vfs::DirEntry entry;
          NtStatus s = enumerator->peek(pattern, entry);
          if (s == NtStatus::NO_MORE_FILES) break;
          if (s != NtStatus::SUCCESS) {
            *status = s;
            return;
          }
          if (!writer.append(to_directory_entry(entry.name, entry.info))) {
            if (writer.count() == 0) {
              *status = NtStatus::BUFFER_OVERFLOW;
              return;
            }
            break;
          }
          enumerator->advance();
          if (single) break;
        }
        if (writer.count() == 0)
          *status = first_call ? NtStatus::NO_SUCH_FILE : NtStatus::NO_MORE_FILES;
      },
      [req, output, status]() {
        if (*status == NtStatus::BUFFER_OVERFLOW) {
          // MS-SMB2 3.3.5.18: not even one entry fits.
          req->reply(NtStatus::INFO_LENGTH_MISMATCH);
          return;
        }
        if (*status != NtStatus::SUCCESS) {
          req->reply(*status);
          return;
        }
        QueryDirectoryResponse response;
        response.output = std::move(*output);
        Response out;
        out.body = encode_body(response);
        out.has_body = true;
        req->complete(std::move(out));
      });
}

}  // namespace smb::server
