// A channel carrying whole SMB2 messages. TCP, the RDMA channel socket from the proxy and
// the in-memory loopback of the tests sit behind this; the SMB layer cannot tell them apart.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "smbd/base/bytes.hh"

namespace smb::server {

// One outgoing transport message: `head` (headers and bodies) followed by an optional
// `payload` (read data) sent from its own buffer, kept alive by `keep`.
struct Frame {
  Bytes head;
  ByteSpan payload;
  std::shared_ptr<const void> keep;
  std::size_t size() const { return head.size() + payload.size(); }
};

class Transport {
 public:
  struct Events {
    std::function<void(Bytes message)> on_message;
    std::function<void(const char* reason)> on_closed;
  };
  virtual ~Transport() = default;
  // Starts delivering messages; none is delivered before.
  virtual void start(Events events) = 0;
  virtual void send(Frame frame) = 0;
  // Closes the channel; on_closed is not called for a close asked for here.
  virtual void close() = 0;
  // Stops reading until resume(); used while a message is being processed.
  virtual void pause() = 0;
  virtual void resume() = 0;
  virtual const std::string& peer_address() const = 0;
  virtual std::size_t pending_send_bytes() const = 0;
  // The largest message accepted from now on (raised once the client has authenticated).
  // A channel whose far end already bounds message sizes (the proxy's channel socket,
  // bounded by MS-SMBD's max fragmented size) has nothing more to enforce.
  virtual void set_max_message(std::size_t bytes) { (void)bytes; }
  virtual bool is_rdma() const { return false; }
};

}  // namespace smb::server
