// An in-memory transport with an error injector (the idea of Seastar's loopback_socket
// and loopback_error_injector). The server's end is a Transport the SMB layer cannot tell
// from TCP: the same Direct TCP framing (MS-SMB2 2.1) and message limit, bytes arriving in
// reads on the worker's loop, failures reported through on_closed. The other end,
// LoopbackPeer, is held by a test: it writes whole messages or any bytes, reads what the
// server sent, and injects short reads, a reset in the middle of a message and failing
// sends.
//
// Both ends live on the loop's thread. Nothing the peer does runs server code at once:
// the server reads, one read per loop iteration, when the test runs the loop.
#pragma once

#include "smbd/worker/uv.hh"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "smbd/worker/transport/transport.hh"

namespace smb::server {

// Faults the peer injects; they take effect from the next read or send on.
struct LoopbackFaults {
  // At most this many bytes reach the server per read (0: all that is waiting), as TCP
  // may hand a message over in pieces.
  std::size_t read_chunk = 0;
  // The connection is reset once this many more bytes have reached the server, in the
  // middle of a message if the count ends there.
  std::optional<std::size_t> reset_after;
  // This many more of the server's sends succeed; every one after fails as a write to a
  // peer that has gone does: the frame is lost and the server sees its connection closed.
  std::optional<std::size_t> sends_before_failure;
};

struct LoopbackLink;

// The test's end.
class LoopbackPeer {
 public:
  // Bytes as a client writes them to its socket: the Direct TCP prefixes are the
  // caller's (any bytes at all may be written).
  void write(ByteSpan bytes);
  // One message with its Direct TCP prefix.
  void send_message(ByteSpan message);
  // Resets the connection: the server reads nothing more and sees it closed.
  void reset();

  // The next whole message the server has sent (without its prefix), if one is there.
  std::optional<Bytes> receive_message();
  // Everything the server has sent and the peer has not read, prefixes included.
  Bytes take_output();

  LoopbackFaults& faults();
  // The server's end is closed: by the server, or by a reset or failure.
  bool closed() const;
  // Bytes the server has read so far, and frames it has sent (failed ones included).
  std::size_t bytes_read_by_server() const;
  std::size_t frames_sent_by_server() const;

 private:
  friend class LoopbackTransport;
  explicit LoopbackPeer(std::shared_ptr<LoopbackLink> link) : link_(std::move(link)) {}
  std::shared_ptr<LoopbackLink> link_;
};

class LoopbackTransport final : public Transport {
 public:
  // A connected pair on `loop`: the server's end and the test's end. Messages longer
  // than `max_message` close the connection, as over TCP.
  static std::pair<std::unique_ptr<LoopbackTransport>, LoopbackPeer> create(
      uv_loop_t* loop, std::size_t max_message, std::string peer_address = "loopback");
  ~LoopbackTransport() override;

  void start(Events events) override;
  void send(Frame frame) override;
  void close() override;
  void pause() override;
  void resume() override;
  const std::string& peer_address() const override { return peer_; }
  std::size_t pending_send_bytes() const override;
  void set_max_message(std::size_t bytes) override { max_message_ = bytes; }
  // An in-memory channel has no socket another worker could adopt: none is given.
  HandOff hand_off(Bytes negotiate) override;

 private:
  friend class LoopbackPeer;
  struct Handle;
  LoopbackTransport() = default;
  // Wakes the reader on the loop when there is something to read or to report.
  void schedule();
  // One read: a chunk of the peer's bytes through the framing, or the pending fault.
  void on_readable();
  // How many bytes the framing takes next: the rest of the prefix or of the message. A
  // read never goes past them, as TcpTransport reads straight into its buffers.
  std::size_t wanted() const;
  // Takes `bytes` (at most wanted()) through the Direct TCP framing.
  void consume(ByteSpan bytes);
  void fail(const char* reason);

  std::shared_ptr<LoopbackLink> link_;
  Handle* handle_ = nullptr;
  Events events_;
  std::string peer_;
  std::size_t max_message_ = 0;
  bool started_ = false;
  bool paused_ = false;
  // Receive state, as TcpTransport keeps it: the 4-byte prefix, then the message body.
  std::uint8_t prefix_[4]{};
  std::size_t prefix_have_ = 0;
  Bytes message_;
  std::size_t message_have_ = 0;
  bool in_body_ = false;
};

}  // namespace smb::server
