// A request being served: one element of a (possibly compound) message, with what the
// common checks resolved from the dispatch table.
#pragma once

#include <functional>
#include <memory>

#include "smbd/proto/header.hh"
#include "smbd/worker/connection.hh"
#include "smbd/worker/server_state.hh"

namespace smb::server {

class Worker;

struct Request {
  Worker& worker;
  std::uint64_t connection_id = 0;
  Header header;        // as received; ids of related operations already substituted
  ByteSpan pdu;         // header + body of this element
  std::shared_ptr<const Buffer> message;  // keeps `pdu` alive
  bool encrypted = false;
  // The message the request is an element of, and its place there (async.hh).
  std::shared_ptr<Connection::Message> served;
  std::size_t index = 0;

  // Resolved before the handler runs, per the dispatch table. Pointers are valid only
  // until the handler first waits; after that, look up again by id.
  Session* session = nullptr;
  TreeConnect* tree = nullptr;
  Open* open = nullptr;
  FileId file_id;

  // Completes the request. Called exactly once, on the loop thread.
  std::function<void(Response)> complete;

  Request(Worker& w) : worker(w) {}

  Connection* connection() const;
  ClientState& client() const;
  void reply(NtStatus status) const {
    Response r;
    r.status = status;
    complete(std::move(r));
  }
  void reply(Bytes body) const {
    Response r;
    r.body = std::move(body);
    r.has_body = true;
    complete(std::move(r));
  }
  // An ERROR response (MS-SMB2 2.2.2) carrying `error_data`: as the ErrorData itself
  // before 3.1.1, as one error context of ErrorId SMB2_ERROR_ID_DEFAULT in 3.1.1
  // (2.2.2.1), as MS-SMB2 asks of STATUS_BUFFER_TOO_SMALL and STATUS_STOPPED_ON_SYMLINK.
  void reply_error(NtStatus status, Bytes error_data) const;
  // Whether this is the last element of its message (or alone): only such a request
  // can go async with an interim response (async.hh).
  bool last_in_message() const;
  // Looks the session, tree and open up again after a wait; false if any is gone.
  bool refresh();
  // Whether this request's data must travel encrypted: it came encrypted, or its session
  // or its share demands encryption (the response is then encrypted, as the gate does).
  bool needs_encryption() const;
};

using RequestPtr = std::shared_ptr<Request>;

}  // namespace smb::server
