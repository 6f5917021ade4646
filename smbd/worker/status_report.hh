// What a worker serves, as the lines of smbd/base/status_lines.hh: its sessions with
// their channels, tree connects and opens. Answers the master's STATUS_QUERY (smbstatus).
#pragma once

#include <cstddef>
#include <string>

namespace smb::server {

class Worker;

// At most `limit` bytes: a report that would be longer ends with a `truncated` line.
std::string status_report(const Worker& worker, std::size_t limit);

}  // namespace smb::server
