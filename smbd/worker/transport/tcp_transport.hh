// Direct TCP transport (MS-SMB2 2.1): each message is preceded by a zero byte and a
// 24-bit big-endian length.
#pragma once

#include <memory>

#include "smbd/worker/uv.hh"

#include "smbd/worker/transport/transport.hh"
#include "smbd/base/unique_fd.hh"

namespace smb::server {

class TcpTransport final : public Transport {
 public:
  // Takes ownership of a connected socket. Messages longer than `max_message` close it.
  static std::unique_ptr<TcpTransport> adopt(uv_loop_t* loop, UniqueFd socket,
                                             std::size_t max_message);
  ~TcpTransport() override;

  void start(Events events) override;
  void send(Frame frame) override;
  void close() override;
  void pause() override;
  void resume() override;
  const std::string& peer_address() const override { return peer_; }
  std::size_t pending_send_bytes() const override { return pending_send_; }
  void set_max_message(std::size_t bytes) override { max_message_ = bytes; }
  std::uint64_t bytes_queued() const override { return bytes_queued_; }
  // What the kernel has taken from us less what it still holds unacknowledged
  // (SIOCOUTQ): the bytes the peer's TCP has acknowledged.
  std::uint64_t bytes_acknowledged() const override;
  // The socket's current RTO (TCP_INFO), 200 ms when it cannot be read.
  std::chrono::milliseconds retransmission_timeout() const override;
  // Passes a duplicate of the socket on, with the NEGOTIATE as the adopting worker's
  // first message.
  HandOff hand_off(Bytes negotiate) override;

 private:
  struct Handle;
  struct WriteRequest;
  TcpTransport() = default;
  void next_read_buffer(uv_buf_t& buf);
  void on_read(ssize_t nread);
  // Delivers the messages complete in the staging buffer, until it is empty, the SMB
  // layer pauses, or the transport closes.
  void deliver_staged();
  void deliver_message();
  void update_backpressure();
  void start_reading();
  void stop_reading();
  void fail(const char* reason);

  Handle* handle_ = nullptr;
  Events events_;
  std::string peer_;
  std::size_t max_message_ = 0;
  std::size_t pending_send_ = 0;
  std::uint64_t bytes_queued_ = 0;   // given to send(), with the framing
  std::uint64_t bytes_written_ = 0;  // taken by the kernel
  bool reading_ = false;
  bool paused_ = false;             // by the SMB layer
  bool send_backlogged_ = false;    // by too much output the peer has not taken
  // Receive state: the 4-byte length prefix, then the message body. Bytes are read into
  // the staging buffer ([staging_begin_, staging_end_) not delivered yet), several
  // messages at a time, or a large body straight into message_ (reading_direct_).
  std::uint8_t prefix_[4]{};
  std::size_t prefix_have_ = 0;
  Buffer message_;
  std::size_t message_have_ = 0;
  bool in_body_ = false;
  std::unique_ptr<std::uint8_t[]> staging_;
  std::size_t staging_begin_ = 0;
  std::size_t staging_end_ = 0;
  bool reading_direct_ = false;
};

}  // namespace smb::server
