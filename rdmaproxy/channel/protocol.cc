#include "rdmaproxy/channel/protocol.hh"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace smb::rdmachannel {

namespace {
constexpr std::uint32_t kMaxLimit = 16u << 20;
}

void encode_header(const PacketHeader& h, std::uint8_t out[kHeaderSize]) {
  store_le16(out, static_cast<std::uint16_t>(h.type));
  store_le16(out + 2, h.flags);
  store_le32(out + 4, h.value);
}

bool decode_header(ByteSpan packet, PacketHeader& out) {
  if (packet.size() < kHeaderSize) return false;
  std::uint16_t type = load_le16(packet.data());
  if (type < 1 || type > 3) return false;
  out.type = static_cast<PacketType>(type);
  out.flags = load_le16(packet.data() + 2);
  out.value = load_le32(packet.data() + 4);
  return true;
}

Bytes encode_hello(const Hello& h) {
  Bytes out(kHeaderSize);
  encode_header({PacketType::HELLO, 0, h.version}, out.data());
  ByteWriter w(out);
  w.u32(h.max_send_message);
  w.u32(h.max_receive_message);
  w.u32(h.max_read_write_size);
  std::size_t n = std::min(h.peer_address.size(), kMaxPeerAddress);
  w.u16(static_cast<std::uint16_t>(n));
  w.bytes(ByteSpan(reinterpret_cast<const std::uint8_t*>(h.peer_address.data()), n));
  return out;
}

bool decode_hello(ByteSpan packet, Hello& out) {
  PacketHeader h;
  if (!decode_header(packet, h) || h.type != PacketType::HELLO || h.value != kVersion) return false;
  ByteReader r(packet, kHeaderSize);
  out.version = h.value;
  out.max_send_message = r.u32();
  out.max_receive_message = r.u32();
  out.max_read_write_size = r.u32();
  std::uint16_t n = r.u16();
  if (n > kMaxPeerAddress) return false;
  ByteSpan address = r.bytes(n);
  if (!r.ok() || r.remaining() != 0) return false;
  for (std::uint32_t limit :
       {out.max_send_message, out.max_receive_message, out.max_read_write_size})
    if (limit == 0 || limit > kMaxLimit) return false;
  out.peer_address.clear();
  for (std::uint8_t c : address) out.peer_address.push_back(c >= 0x20 && c < 0x7f ? char(c) : '?');
  return true;
}

Reassembler::Result Reassembler::feed(const PacketHeader& h, ByteSpan body) {
  if (done_) {
    message_.clear();
    invalidate_.reset();
    done_ = false;
  }
  if (h.type != PacketType::SMB2 || body.size() > kMaxChunk || body.size() > max_ - message_.size())
    return Result::error;
  message_.insert(message_.end(), body.begin(), body.end());
  if ((h.flags & kFlagMore) != 0) {
    // Only the last chunk may ask for an invalidate, and chunks carry data.
    if ((h.flags & kFlagInvalidate) != 0 || body.empty()) return Result::error;
    return Result::more;
  }
  if (message_.empty()) return Result::error;
  if ((h.flags & kFlagInvalidate) != 0) invalidate_ = h.value;
  done_ = true;
  return Result::message;
}

std::optional<CheckedRequest> check_request(const shmring::Descriptor& d,
                                            std::uint32_t max_read_write_size) {
  CheckedRequest out;
  if (d.op == static_cast<std::uint16_t>(RingOp::RDMA_WRITE)) {
    out.op = RingOp::RDMA_WRITE;
  } else if (d.op == static_cast<std::uint16_t>(RingOp::RDMA_READ)) {
    out.op = RingOp::RDMA_READ;
  } else {
    return std::nullopt;
  }
  if (d.length == 0 || d.length > max_read_write_size) return std::nullopt;
  auto buffers = shmring::get_buffers(d);
  if (!buffers || buffers->count == 0) return std::nullopt;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < buffers->count; ++i) {
    if (buffers->items[i].length == 0) return std::nullopt;
    total += buffers->items[i].length;
  }
  if (out.op == RingOp::RDMA_READ && total != d.length) return std::nullopt;
  if (out.op == RingOp::RDMA_WRITE && total < d.length) return std::nullopt;
  // Trim to `length`: the data fills the buffers in order.
  std::uint64_t left = d.length;
  std::size_t count = 0;
  for (std::size_t i = 0; i < buffers->count && left > 0; ++i) {
    out.buffers.items[count] = buffers->items[i];
    if (out.buffers.items[count].length > left)
      out.buffers.items[count].length = static_cast<std::uint32_t>(left);
    left -= out.buffers.items[count].length;
    ++count;
  }
  out.buffers.count = count;
  return out;
}

std::string address_file(const std::string& smbd_socket) { return smbd_socket + ".address"; }

int publish_listen_address(const std::string& smbd_socket, const std::string& address) {
  int fd = ::open(address_file(smbd_socket).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::ftruncate(fd, 0) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  std::string line = address + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

std::optional<std::string> running_proxy_address(const std::string& smbd_socket) {
  int fd = ::open(address_file(smbd_socket).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  // A lock we can take means nobody holds it: the proxy that wrote the file is gone.
  bool running = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  char text[kMaxPeerAddress + 2];
  ssize_t n = running ? ::read(fd, text, sizeof text - 1) : -1;
  ::close(fd);
  if (n <= 0) return std::nullopt;
  std::string address(text, static_cast<std::size_t>(n));
  if (auto end = address.find('\n'); end != std::string::npos) address.resize(end);
  if (address.empty()) return std::nullopt;
  return address;
}

}  // namespace smb::rdmachannel
