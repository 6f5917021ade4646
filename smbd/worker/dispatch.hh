// The dispatch table (MS-SMB2 3.3.5.2): per command, its fixed body size and what the
// common checks must resolve or verify before the handler runs. The gate
// (Connection::process_next) reads its rules from this table only; a handler never
// re-checks them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "smbd/worker/request.hh"

namespace smb::server {

using Handler = void (*)(const RequestPtr&);

// How the gate finds the session a request names (MS-SMB2 3.3.5.2.9).
enum class SessionRule : std::uint8_t {
  none,      // no session is looked up (NEGOTIATE, CANCEL)
  optional,  // a session of this channel is used when the request names one (ECHO)
  required,  // a valid session of this channel, else USER_SESSION_DELETED
  // SESSION_SETUP (3.3.5.5): SessionId 0 starts a session; any other names one being set
  // up on this connection, or, with SMB2_SESSION_FLAG_BINDING, one to bind to (3.3.5.5.2).
  setup,
};

// Whether a request may arrive unencrypted on a session or share that encrypts
// (MS-SMB2 3.3.5.2.9, 3.3.5.2.11), and whether its answer then goes unencrypted
// (3.3.4.1.4).
enum class EncryptionRule : std::uint8_t {
  required,        // refused unencrypted (ACCESS_DENIED); the answer is encrypted
  request_exempt,  // accepted unencrypted; the answer follows the session (ECHO)
  exempt,          // accepted, and answered, unencrypted (NEGOTIATE, SESSION_SETUP)
};

// The payload a request moves, read from its body, for the credit charge (MS-SMB2
// 3.1.5.2, 3.3.5.2.5): the larger of what it sends and the most it can get back.
// Nothing when the element is too short to hold the fields.
using PayloadSize = std::optional<std::uint64_t> (*)(ByteSpan pdu);

// Whether a request acts on its connection alone, so that no session, tree or open is
// looked up for it (the test-only FSCTL_SMBTORTURE_FORCE_UNACKED_TIMEOUT, sent without a
// session, as Samba's smbd takes it when `smbd:FSCTL_SMBTORTURE` is on).
using ConnectionOnly = bool (*)(ByteSpan pdu, const ServerConfig& config);

// What the FileId of a request names. IOCTL's depends on its control code (MS-SMB2
// 3.3.5.15), so the table holds a function of the request for it.
enum class FileIdUse : std::uint8_t {
  open,          // an open of the session and tree, else FILE_CLOSED
  open_or_none,  // all ones (outside a related chain) names none; anything else an open
  none,          // must be all ones (or the related marker), else INVALID_PARAMETER
  ignored,       // not looked at: the handler refuses the request for another reason
};
using FileIdRule = FileIdUse (*)(ByteSpan pdu);

struct CommandSpec {
  Command command = Command::NEGOTIATE;
  // MS-SMB2 2.2.x StructureSize of the request; 0: several sizes, the handler tells them
  // apart (OPLOCK_BREAK).
  std::uint16_t structure_size = 0;
  SessionRule session = SessionRule::required;
  bool needs_tree = false;  // a tree connect of the session (3.3.5.2.11)
  int file_id_offset = -1;  // offset of the FileId in the body, or -1
  // Null: the FileId names an open (FileIdUse::open).
  FileIdRule file_id_rule = nullptr;
  // Null: the request moves nothing the charge has to cover, one credit pays for it.
  PayloadSize payload_size = nullptr;
  // Null: every request of the command follows the session and tree rules above.
  ConnectionOnly connection_only = nullptr;
  // Taken unsigned on a session that requires signing (MS-SMB2 3.3.5.2.4).
  bool signing_exempt = false;
  EncryptionRule encryption = EncryptionRule::required;
  // Refused with a stale ChannelSequence, not only left uncounted (MS-SMB2 3.3.5.2.10:
  // WRITE, SET_INFO, IOCTL).
  bool modifies = false;
  // The only command a connection may start with (MS-SMB2 3.3.5.2: NEGOTIATE).
  bool negotiates = false;
  // Consumes its MessageId from the credit window (MS-SMB2 3.3.5.2.3); CANCEL reuses the
  // id of the request it cancels.
  bool sequenced = true;
  // Has a response; CANCEL has none (MS-SMB2 3.3.5.16).
  bool answered = true;
  // Opens a file for the related operations after it, which fail with its error when
  // it fails (MS-SMB2 3.3.5.2.7.2: CREATE).
  bool opens_for_chain = false;
  Handler handler = nullptr;
};

// Null for command codes outside the table.
const CommandSpec* find_command(std::uint16_t command);

// The most elements one compound message may hold. MS-SMB2 3.3.5.2.7 sets no number;
// Samba bounds a chain only by the message size, ksmbd by its response buffer. Clients
// compound a handful (smbtorture's compound tests at most 5). A longer chain is refused
// element by element with STATUS_INVALID_PARAMETER, as 3.3.5.2.7 has the server fail
// each request of a chain it does not process (one mixing the two styles), and no
// handler runs for any of it.
inline constexpr std::size_t kMaxCompoundElements = 64;

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
void handle_cancel(const RequestPtr&);
void handle_echo(const RequestPtr&);
void handle_query_directory(const RequestPtr&);
void handle_change_notify(const RequestPtr&);
void handle_query_info(const RequestPtr&);
void handle_set_info(const RequestPtr&);
void handle_oplock_break(const RequestPtr&);

}  // namespace smb::server
