// Runs blocking file-system work on libuv's thread pool and continues on the loop thread.
// The work function must not touch loop-owned state; the continuation looks state up
// again by id, since the connection or open may have gone while the work ran.
#pragma once

#include "smbd/worker/uv.hh"

#include <functional>

namespace smb::server {

void run_blocking(uv_loop_t* loop, std::function<void()> work, std::function<void()> then);

}  // namespace smb::server
