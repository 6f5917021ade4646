// The typed requests of Connection: each has an asynchronous form built on submit() and
// a blocking form that waits for it.
#include <memory>
#include <utility>

#include "smbd/client/connection.hh"
#include "smbd/proto/close.hh"
#include "smbd/proto/echo.hh"
#include "smbd/proto/flush.hh"
#include "smbd/proto/fscc.hh"
#include "smbd/proto/lock.hh"
#include "smbd/proto/output_buffer.hh"
#include "smbd/proto/read.hh"
#include "smbd/proto/write.hh"

namespace smb::client {

namespace {

template <typename Body>
Call tree_call(const Tree& tree, Command command, const Body& body) {
  Call c;
  c.command = command;
  c.session_id = tree.session_id;
  c.tree_id = tree.tree_id;
  c.tree_encrypt = tree.encrypt;
  c.body = encode_body(body);
  return c;
}

// Runs `start(callback)` and waits for the callback.
template <typename Start>
NtStatus wait_for(Connection& c, Start start) {
  NtStatus status = NtStatus::SUCCESS;
  bool done = false;
  start([&](NtStatus s) {
    status = s;
    done = true;
  });
  c.wait_until([&] { return done; });
  return status;
}

}  // namespace

// ---------------------------------------------------------------- asynchronous

void Connection::create_async(const Tree& tree, const CreateRequest& request,
                              std::function<void(NtStatus, const CreateResponse&)> done) {
  submit(tree_call(tree, Command::CREATE, request), [done = std::move(done)](const Response& r) {
    CreateResponse p;
    NtStatus s = r.status();
    if (s == NtStatus::SUCCESS && decode(r.pdu, p) != NtStatus::SUCCESS)
      s = NtStatus::INVALID_NETWORK_RESPONSE;
    done(s, p);
  });
}

void Connection::close_async(const Tree& tree, const FileId& file_id, StatusCallback done) {
  CloseRequest q;
  q.file_id = file_id;
  submit(tree_call(tree, Command::CLOSE, q),
         [done = std::move(done)](const Response& r) { done(r.status()); });
}

void Connection::read_async(const Tree& tree, const FileId& file_id, std::uint64_t offset,
                            std::uint32_t length,
                            std::function<void(NtStatus, ByteSpan data)> done) {
  ReadRequest q;
  q.length = length;
  q.offset = offset;
  q.file_id = file_id;
  Call c = tree_call(tree, Command::READ, q);
  c.response_payload = length;
  submit(std::move(c), [done = std::move(done)](const Response& r) {
    ReadResponse p;
    NtStatus s = r.status();
    // MS-SMB2 3.3.4.4: a READ may also succeed with STATUS_BUFFER_OVERFLOW (pipes).
    if ((s == NtStatus::SUCCESS || s == NtStatus::BUFFER_OVERFLOW) &&
        decode(r.pdu, p) != NtStatus::SUCCESS)
      s = NtStatus::INVALID_NETWORK_RESPONSE;
    done(s, p.data);
  });
}

void Connection::write_async(const Tree& tree, const FileId& file_id, std::uint64_t offset,
                             ByteSpan data,
                             std::function<void(NtStatus, std::uint32_t count)> done) {
  WriteRequest q;
  q.data_length = static_cast<std::uint32_t>(data.size());
  q.offset = offset;
  q.file_id = file_id;
  Call c = tree_call(tree, Command::WRITE, q);
  c.payload = data;
  submit(std::move(c), [done = std::move(done)](const Response& r) {
    WriteResponse p;
    NtStatus s = r.status();
    if (s == NtStatus::SUCCESS && decode(r.pdu, p) != NtStatus::SUCCESS)
      s = NtStatus::INVALID_NETWORK_RESPONSE;
    done(s, p.count);
  });
}

void Connection::flush_async(const Tree& tree, const FileId& file_id, StatusCallback done) {
  FlushRequest q;
  q.file_id = file_id;
  submit(tree_call(tree, Command::FLUSH, q),
         [done = std::move(done)](const Response& r) { done(r.status()); });
}

void Connection::lock_async(const Tree& tree, const FileId& file_id,
                            const std::vector<LockElement>& locks, StatusCallback done) {
  LockRequest q;
  q.file_id = file_id;
  q.locks = locks;
  submit(tree_call(tree, Command::LOCK, q),
         [done = std::move(done)](const Response& r) { done(r.status()); });
}

void Connection::echo_async(StatusCallback done) {
  Call c;
  c.command = Command::ECHO;
  c.body = encode_body(EchoRequest{});
  submit(std::move(c), [done = std::move(done)](const Response& r) { done(r.status()); });
}

void Connection::query_directory_async(const Tree& tree, const QueryDirectoryRequest& request,
                                       std::function<void(NtStatus, const Bytes&)> done) {
  Call c = tree_call(tree, Command::QUERY_DIRECTORY, request);
  c.response_payload = request.output_buffer_length;
  submit(std::move(c), [done = std::move(done)](const Response& r) {
    QueryDirectoryResponse p;
    NtStatus s = r.status();
    if (s == NtStatus::SUCCESS && decode(r.pdu, p) != NtStatus::SUCCESS)
      s = NtStatus::INVALID_NETWORK_RESPONSE;
    done(s, p.output);
  });
}

void Connection::query_info_async(const Tree& tree, const QueryInfoRequest& request,
                                  std::function<void(NtStatus, const Bytes&)> done) {
  Call c = tree_call(tree, Command::QUERY_INFO, request);
  c.response_payload = request.output_buffer_length;
  submit(std::move(c), [done = std::move(done)](const Response& r) {
    QueryInfoResponse p;
    NtStatus s = r.status();
    if ((s == NtStatus::SUCCESS || s == NtStatus::BUFFER_OVERFLOW) &&
        decode(r.pdu, p) != NtStatus::SUCCESS)
      s = NtStatus::INVALID_NETWORK_RESPONSE;
    done(s, p.output);
  });
}

void Connection::query_path_info_async(const Tree& tree, const CreateRequest& create,
                                       const QueryInfoRequest& query,
                                       std::function<void(NtStatus, const Bytes&)> done) {
  struct State {
    NtStatus status = NtStatus::SUCCESS;
    Bytes output;
    int left = 3;
    std::function<void(NtStatus, const Bytes&)> done;
  };
  auto state = std::make_shared<State>();
  state->done = std::move(done);
  auto finish = [](State& st, NtStatus s) {
    if (nt_error(s) && !nt_error(st.status)) st.status = s;
    if (--st.left == 0) st.done(st.status, st.output);
  };
  QueryInfoRequest q = query;
  q.file_id = kRelatedFileId;
  Call query_call = tree_call(tree, Command::QUERY_INFO, q);
  query_call.response_payload = q.output_buffer_length;
  query_call.extra_flags |= kFlagRelatedOperations;
  CloseRequest c;
  c.file_id = kRelatedFileId;
  Call close_call = tree_call(tree, Command::CLOSE, c);
  close_call.extra_flags |= kFlagRelatedOperations;
  std::vector<Call> calls;
  calls.push_back(tree_call(tree, Command::CREATE, create));
  calls.push_back(std::move(query_call));
  calls.push_back(std::move(close_call));
  std::vector<Callback> callbacks;
  callbacks.emplace_back([state, finish](const Response& r) {
    CreateResponse p;
    NtStatus s = r.status();
    if (s == NtStatus::SUCCESS && decode(r.pdu, p) != NtStatus::SUCCESS)
      s = NtStatus::INVALID_NETWORK_RESPONSE;
    finish(*state, s);
  });
  callbacks.emplace_back([state, finish](const Response& r) {
    QueryInfoResponse p;
    NtStatus s = r.status();
    if ((s == NtStatus::SUCCESS || s == NtStatus::BUFFER_OVERFLOW) &&
        decode(r.pdu, p) != NtStatus::SUCCESS)
      s = NtStatus::INVALID_NETWORK_RESPONSE;
    if (!nt_error(s)) {
      state->output = std::move(p.output);
      if (state->status == NtStatus::SUCCESS) state->status = s;
    }
    finish(*state, s);
  });
  callbacks.emplace_back([state, finish](const Response& r) { finish(*state, r.status()); });
  submit_compound(std::move(calls), std::move(callbacks));
}

void Connection::set_info_async(const Tree& tree, const SetInfoRequest& request,
                                StatusCallback done) {
  submit(tree_call(tree, Command::SET_INFO, request),
         [done = std::move(done)](const Response& r) { done(r.status()); });
}

// ---------------------------------------------------------------- blocking

NtStatus Connection::create(const Tree& tree, const CreateRequest& request,
                            CreateResponse& response) {
  return wait_for(*this, [&](auto finish) {
    create_async(tree, request, [&, finish](NtStatus s, const CreateResponse& p) {
      response = p;
      finish(s);
    });
  });
}

NtStatus Connection::open(const Tree& tree, std::string_view name, std::uint32_t desired_access,
                          CreateDisposition disposition, std::uint32_t create_options,
                          FileId& file_id) {
  CreateRequest q;
  q.desired_access = desired_access;
  q.share_access = kFileShareRead | kFileShareWrite | kFileShareDelete;
  q.create_disposition = disposition;
  q.create_options = create_options;
  q.name = std::string(name);
  CreateResponse p;
  NtStatus s = create(tree, q, p);
  if (s == NtStatus::SUCCESS) file_id = p.file_id;
  return s;
}

NtStatus Connection::close(const Tree& tree, const FileId& file_id) {
  return wait_for(*this, [&](auto finish) { close_async(tree, file_id, finish); });
}

NtStatus Connection::read(const Tree& tree, const FileId& file_id, std::uint64_t offset,
                          std::uint32_t length, Bytes& data) {
  return wait_for(*this, [&](auto finish) {
    read_async(tree, file_id, offset, length, [&, finish](NtStatus s, ByteSpan d) {
      data.assign(d.begin(), d.end());
      finish(s);
    });
  });
}

NtStatus Connection::write(const Tree& tree, const FileId& file_id, std::uint64_t offset,
                           ByteSpan data, std::uint32_t* count) {
  return wait_for(*this, [&](auto finish) {
    write_async(tree, file_id, offset, data, [&, finish](NtStatus s, std::uint32_t n) {
      if (count != nullptr) *count = n;
      finish(s);
    });
  });
}

NtStatus Connection::flush(const Tree& tree, const FileId& file_id) {
  return wait_for(*this, [&](auto finish) { flush_async(tree, file_id, finish); });
}

NtStatus Connection::lock(const Tree& tree, const FileId& file_id,
                          const std::vector<LockElement>& locks) {
  return wait_for(*this, [&](auto finish) { lock_async(tree, file_id, locks, finish); });
}

NtStatus Connection::echo() {
  return wait_for(*this, [&](auto finish) { echo_async(finish); });
}

NtStatus Connection::query_directory(const Tree& tree, const QueryDirectoryRequest& request,
                                     Bytes& output) {
  return wait_for(*this, [&](auto finish) {
    query_directory_async(tree, request, [&, finish](NtStatus s, const Bytes& o) {
      output = o;
      finish(s);
    });
  });
}

NtStatus Connection::query_info(const Tree& tree, const QueryInfoRequest& request, Bytes& output) {
  return wait_for(*this, [&](auto finish) {
    query_info_async(tree, request, [&, finish](NtStatus s, const Bytes& o) {
      output = o;
      finish(s);
    });
  });
}

NtStatus Connection::set_info(const Tree& tree, const SetInfoRequest& request) {
  return wait_for(*this, [&](auto finish) { set_info_async(tree, request, finish); });
}

NtStatus Connection::rename(const Tree& tree, const FileId& file_id, std::string_view new_name,
                            bool replace_if_exists) {
  SetInfoRequest q;
  q.info_type = InfoType::SMB2_0_INFO_FILE;
  q.file_info_class = static_cast<std::uint8_t>(fscc::FileInfoClass::FileRenameInformation);
  q.buffer = encode_rename_information(new_name, replace_if_exists);
  q.file_id = file_id;
  return set_info(tree, q);
}

NtStatus Connection::set_delete_on_close(const Tree& tree, const FileId& file_id,
                                         bool delete_pending) {
  SetInfoRequest q;
  q.info_type = InfoType::SMB2_0_INFO_FILE;
  q.file_info_class = static_cast<std::uint8_t>(fscc::FileInfoClass::FileDispositionInformation);
  q.buffer = encode_disposition_information(delete_pending);
  q.file_id = file_id;
  return set_info(tree, q);
}

NtStatus Connection::list_directory(const Tree& tree, std::string_view path,
                                    std::vector<std::string>& names) {
  names.clear();
  FileId dir;
  NtStatus s = open(
      tree, path, access::FILE_LIST_DIRECTORY | access::FILE_READ_ATTRIBUTES | access::SYNCHRONIZE,
      CreateDisposition::FILE_OPEN, kFileDirectoryFile, dir);
  if (s != NtStatus::SUCCESS) return s;
  QueryDirectoryRequest q;
  q.file_information_class = static_cast<std::uint8_t>(fscc::FileInfoClass::FileNamesInformation);
  q.flags = kRestartScans;
  q.file_id = dir;
  q.file_name = "*";
  q.output_buffer_length = std::min<std::uint32_t>(65536, std::max(max_transact_size(), 4096u));
  while (true) {
    Bytes out;
    s = query_directory(tree, q, out);
    if (s != NtStatus::SUCCESS) break;
    if (!parse_names_information(out, names)) {
      s = NtStatus::INVALID_NETWORK_RESPONSE;
      break;
    }
    q.flags = 0;
  }
  NtStatus closed = close(tree, dir);
  if (s == NtStatus::NO_MORE_FILES) s = closed;
  return s;
}

// ---------------------------------------------------------------- info buffers

Bytes encode_rename_information(std::string_view new_name, bool replace_if_exists) {
  fscc::FileRenameInformation info;
  info.replace_if_exists = replace_if_exists;
  info.file_name = std::string(new_name);
  Bytes out;
  ByteWriter w(out);
  fscc::encode(info, w);
  return out;
}

Bytes encode_disposition_information(bool delete_pending) {
  Bytes out;
  ByteWriter w(out);
  fscc::encode(fscc::FileDispositionInformation{delete_pending}, w);
  return out;
}

bool parse_names_information(ByteSpan output, std::vector<std::string>& names) {
  std::size_t at = 0;
  while (true) {
    ByteReader r(output, at);
    std::uint32_t next = r.u32();
    r.u32();  // FileIndex
    std::uint32_t length = r.u32();
    ByteSpan raw = r.bytes(length);
    if (!r.ok()) return false;
    std::string name;
    if (!utf16le_to_utf8(raw, name)) return false;
    names.push_back(std::move(name));
    if (next == 0) return true;
    if (next < 12 || next % 4 != 0 || next > output.size() - at) return false;
    at += next;
  }
}

}  // namespace smb::client
