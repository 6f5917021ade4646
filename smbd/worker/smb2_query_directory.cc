// QUERY_DIRECTORY (MS-SMB2 3.3.5.18, MS-FSA 2.1.5.6.3).
#include <deque>
#include <functional>
#include <memory>
#include <utility>

#include "smbd/base/wire.hh"
#include "smbd/proto/fscc.hh"
#include "smbd/proto/query_directory.hh"
#include "smbd/vfs/dir.hh"
#include "smbd/vfs/names.hh"
#include "smbd/vfs/nt_acl.hh"
#include "smbd/vfs/short_name.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/info_classes.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

// The search state of a directory open: MS-FSA 2.1.5.6.3 Open.QueryPattern, and
// Open.QueryLastEntry as the enumerator's cursor. A query reads and moves both, so the
// queries of one open run one at a time, in the order they arrived: one is on the pool,
// the others wait here on the loop. (Pipelined queries on different pool threads would
// otherwise restart the enumerator under one another's listing.)
struct DirectorySearch {
  std::shared_ptr<vfs::DirEnumerator> enumerator;         // null until a query has opened one
  std::string pattern;                                    // empty until the first query
  std::shared_ptr<const vfs::NameExpression> expression;  // `pattern`, compiled
  bool busy = false;                                      // a query of this open is on the pool
  std::deque<std::function<void()>> waiting;              // queries that came meanwhile
};

namespace {

// Sizes of the output buffer with its 8-byte header: what the response can hold.
std::size_t output_limit(const Request& req, std::uint32_t requested) {
  std::size_t limit = requested;
  if (Connection* c = req.connection()) limit = std::min(limit, c->max_transact_size());
  return limit;
}

// Starts the queries that waited for the one that just finished, until one of them
// goes to the pool (the others are answered at once, without the enumerator).
void start_waiting(const std::shared_ptr<DirectorySearch>& search) {
  while (!search->busy && !search->waiting.empty()) {
    auto next = std::move(search->waiting.front());
    search->waiting.pop_front();
    next();
  }
}

// The part of a query that uses the open's search state; runs when no other query of
// the open is running.
void run_query(const RequestPtr& req, const QueryDirectoryRequest& request,
               const std::shared_ptr<DirectorySearch>& search) {
  // The open may have gone while this query waited.
  if (!req->refresh()) return;
  Open& open = *req->open;
  const bool restart = (request.flags & (kRestartScans | kReopen)) != 0;
  const bool first = search->pattern.empty();
  if (request.file_name.empty() && first) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // MS-FSA 2.1.5.6.3: the pattern is fixed by the first query; a restart with a pattern
  // replaces it. It must be a valid file name component, wildcards allowed.
  if ((first || restart) && !request.file_name.empty()) {
    auto expression = std::make_shared<vfs::NameExpression>();
    NtStatus compiled = vfs::NameExpression::compile(request.file_name, *expression);
    if (compiled != NtStatus::SUCCESS) {
      req->reply(compiled);
      return;
    }
    search->pattern = request.file_name;
    search->expression = std::move(expression);
  }

  const bool fresh = search->enumerator == nullptr;
  if (fresh) search->enumerator = std::make_shared<vfs::DirEnumerator>();
  auto enumerator = search->enumerator;
  auto expression = search->expression;
  auto fs = open.fs;
  std::string path = open.path;
  const auto info_class = static_cast<fscc::FileInfoClass>(request.file_information_class);
  const bool single = (request.flags & kReturnSingleEntry) != 0;
  const bool first_call = first || restart;
  const std::size_t limit = output_limit(*req, request.output_buffer_length);
  // [MS-FSCC] 2.4.8, 2.4.22: with `mangled names = yes` the Both classes carry the 8.3
  // name of a name that is not 8.3 itself. Under Samba's default (illegal) listings carry
  // none, as Samba's do.
  const conf::Share* share = req->worker.config().conf.find_share(req->tree->share_name);
  const bool short_names = (info_class == fscc::FileInfoClass::FileBothDirectoryInformation ||
                            info_class == fscc::FileInfoClass::FileIdBothDirectoryInformation) &&
                           share != nullptr && share->mangled_names == conf::MangledNames::YES;
  struct Result {
    NtStatus status = NtStatus::SUCCESS;
    bool opened = false;  // the enumerator is open (it may not be: the directory went)
    Bytes output;
  };
  auto result = std::make_shared<Result>();
  vfs::EntryFilter visible;
  if (req->tree->hide_unreadable) {
    visible = [token = req->tree->nt_token](int fd) {
      return vfs::entry_readable(fd, token.get());
    };
  }
  search->busy = true;
  run_blocking(
      req->worker.loop(),
      [enumerator, expression, fs, path, result, fresh, restart, single, limit, info_class,
       first_call, short_names, visible = std::move(visible)]() {
        Result& r = *result;
        if (fresh) {
          r.status = enumerator->open(*fs, path);
          if (r.status != NtStatus::SUCCESS) return;
        }
        r.opened = true;
        ByteWriter w(r.output);
        fscc::DirectoryEntryWriter writer(w, info_class, limit);
        bool nothing_fits = false;
        r.status = enumerator->list(
            *expression, restart && !fresh,
            [&](const vfs::DirEntry& e) {
              fscc::DirectoryEntry entry = to_directory_entry(e.name, e.info);
              if (short_names) entry.short_name = vfs::short_name(e.name);
              if (!writer.append(entry)) {
                nothing_fits = writer.count() == 0;
                return vfs::Take::none;
              }
              return single ? vfs::Take::last : vfs::Take::more;
            },
            visible);
        if (r.status != NtStatus::SUCCESS) return;
        if (nothing_fits) {
          // MS-SMB2 3.3.5.18: not even one entry fits.
          r.status = NtStatus::INFO_LENGTH_MISMATCH;
        } else if (writer.count() == 0) {
          r.status = first_call ? NtStatus::NO_SUCH_FILE : NtStatus::NO_MORE_FILES;
        }
      },
      [req, search, enumerator, result]() {
        // One that could not be opened is tried again by the next query.
        if (!result->opened && search->enumerator == enumerator) search->enumerator.reset();
        if (result->status != NtStatus::SUCCESS) {
          req->reply(result->status);
        } else {
          QueryDirectoryResponse response;
          response.output = std::move(result->output);
          Response out;
          out.body = encode_body(response);
          out.has_body = true;
          req->complete(std::move(out));
        }
        search->busy = false;
        start_waiting(search);
      });
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
  if ((open.granted_access & access_mask::FILE_LIST_DIRECTORY) == 0) {
    req->reply(NtStatus::ACCESS_DENIED);
    return;
  }
  if (request.output_buffer_length > req->connection()->max_transact_size()) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }
  // MS-SMB2 3.3.5.2.5: the output buffer is paid for in credits, one per 64 KiB.
  const std::uint64_t needed = request.output_buffer_length;
  const std::uint16_t charge = req->header.credit_charge == 0 ? 1 : req->header.credit_charge;
  if (req->connection()->negotiated().dialect != to_u16(Dialect::SMB2_0_2) &&
      charge < (needed == 0 ? 1 : (needed - 1) / 65536 + 1)) {
    req->reply(NtStatus::INVALID_PARAMETER);
    return;
  }

  if (!open.search) open.search = std::make_shared<DirectorySearch>();
  auto search = open.search;
  if (search->busy) {
    search->waiting.push_back([req, request, search]() { run_query(req, request, search); });
    return;
  }
  run_query(req, request, search);
}

}  // namespace smb::server
