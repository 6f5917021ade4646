#include "smbd/worker/async.hh"

#include "smbd/worker/worker.hh"

namespace smb::server {

std::optional<std::uint64_t> go_async(const RequestPtr& req, AsyncEndFn on_end) {
  Connection* c = req->connection();
  if (c == nullptr) return std::nullopt;
  return c->go_async(req, std::move(on_end));
}

}  // namespace smb::server
