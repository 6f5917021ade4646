// The dispatch table (MS-SMB2 3.3.5.2): per command, its fixed body size and what the
// common checks must resolve before the handler runs. A handler never re-checks these.
#pragma once

#include <cstdint>

#include "smbd/worker/request.hh"

namespace smb::server {

using Handler = void (*)(const RequestPtr&);

struct CommandSpec {
  Command command;
  std::uint16_t structure_size;  // MS-SMB2 2.2.x StructureSize of the request
  bool needs_session;            // a valid session (3.3.5.2.9)
  bool needs_tree;               // a tree connect of that session (3.3.5.2.11)
  int file_id_offset;            // offset of the FileId in the body, or -1
  Handler handler;
  bool file_id_optional = false;  // all ones (outside a related chain) names no open
};

// Null for command codes outside the table.
const CommandSpec* find_command(std::uint16_t command);

void handle_negotiate(const RequestPtr&);
void handle_session_setup(const RequestPtr&);
void handle_logoff(const RequestPtr&);
void handle_tree_connect(const RequestPtr&);
void handle_tree_disconnect(const RequestPtr&);
void handle_create(const RequestPtr&);
void handle_close(const RequestPtr&);
void handle_flush(const RequestPtr&);
void handle_read(const RequestPtr&);
void handle_write(const RequestPtr&);
void handle_lock(const RequestPtr&);
void handle_ioctl(const RequestPtr&);
void handle_echo(const RequestPtr&);
void handle_query_directory(const RequestPtr&);
void handle_change_notify(const RequestPtr&);
void handle_query_info(const RequestPtr&);
void handle_set_info(const RequestPtr&);
void handle_oplock_break(const RequestPtr&);

}  // namespace smb::server
