#include "smbd/worker/dispatch.hh"

#include <array>

namespace smb::server {

namespace {

// MS-SMB2 2.2: StructureSize of each request; FileId offsets from the body start.
constexpr std::array<CommandSpec, 19> kCommands{{
    {Command::NEGOTIATE, 36, false, false, -1, handle_negotiate},
    {Command::SESSION_SETUP, 25, false, false, -1, handle_session_setup},
    {Command::LOGOFF, 4, true, false, -1, handle_logoff},
    {Command::TREE_CONNECT, 9, true, false, -1, handle_tree_connect},
    {Command::TREE_DISCONNECT, 4, true, true, -1, handle_tree_disconnect},
    {Command::CREATE, 57, true, true, -1, handle_create},
    {Command::CLOSE, 24, true, true, 8, handle_close},
    {Command::FLUSH, 24, true, true, 8, handle_flush},
    {Command::READ, 49, true, true, 16, handle_read},
    {Command::WRITE, 49, true, true, 16, handle_write},
    {Command::LOCK, 48, true, true, 8, handle_lock},
    // Several FSCTLs name no open: their FileId is all ones.
    {Command::IOCTL, 57, true, true, 8, handle_ioctl, true},
    // CANCEL is handled by the connection before the table (it has no response).
    {Command::CANCEL, 4, false, false, -1, nullptr},
    {Command::ECHO, 4, false, false, -1, handle_echo},
    {Command::QUERY_DIRECTORY, 33, true, true, 8, handle_query_directory},
    {Command::CHANGE_NOTIFY, 32, true, true, 8, handle_change_notify},
    {Command::QUERY_INFO, 41, true, true, 24, handle_query_info},
    {Command::SET_INFO, 33, true, true, 16, handle_set_info},
    // OPLOCK_BREAK has two sizes (oplock 24, lease 36); the handler tells them apart.
    {Command::OPLOCK_BREAK, 0, true, true, -1, handle_oplock_break},
}};

}  // namespace

const CommandSpec* find_command(std::uint16_t command) {
  if (command >= kCommands.size()) return nullptr;
  return &kCommands[command];
}

}  // namespace smb::server
