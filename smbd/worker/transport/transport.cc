// READ and WRITE data inline, in the SMB2 messages: what every transport can do.
#include "smbd/worker/transport/transport.hh"

#include <algorithm>
#include <memory>

namespace smb::server {

namespace {

// A READ answered in the response itself: the file is read into a heap buffer, which the
// response then sends as its payload (MS-SMB2 2.2.20 Buffer).
class InlineReadData final : public ReadData {
 public:
  // Not zero-filled: only the bytes the file gave are ever sent.
  explicit InlineReadData(std::uint32_t length) : bytes_(Buffer::uninitialized(length)) {}
  MutableByteSpan buffer() override { return bytes_; }
  void deliver(std::uint32_t count, std::function<void(NtStatus, ReadDelivery)> done) override {
    ReadDelivery d;
    d.data_length = count;
    d.payload = ByteSpan(bytes_).first(std::min<std::size_t>(count, bytes_.size()));
    d.payload_private = true;
    done(NtStatus::SUCCESS, d);
  }

 private:
  Buffer bytes_;
};

}  // namespace

NtStatus Transport::check_channel(const DataChannel& channel, std::uint32_t length,
                                  std::uint16_t dialect) const {
  (void)length;
  (void)dialect;
  // MS-SMB2 3.3.5.12, 3.3.5.13: an RDMA channel on a connection without RDMA is invalid.
  return channel.channel == Channel::NONE ? NtStatus::SUCCESS : NtStatus::INVALID_PARAMETER;
}

void Transport::receive_write_data(const DataChannel& channel, ByteSpan in_message,
                                   std::shared_ptr<const void> message, std::uint32_t length,
                                   std::function<void(NtStatus, WriteData)> done) {
  if (channel.channel != Channel::NONE || in_message.size() != length) {
    done(NtStatus::INVALID_PARAMETER, {});
    return;
  }
  done(NtStatus::SUCCESS, WriteData{in_message, std::move(message), std::nullopt});
}

void Transport::prepare_read(const DataChannel& channel, std::uint32_t length,
                             std::function<void(NtStatus, std::shared_ptr<ReadData>)> done) {
  if (channel.channel != Channel::NONE) {
    done(NtStatus::INVALID_PARAMETER, nullptr);
    return;
  }
  done(NtStatus::SUCCESS, std::make_shared<InlineReadData>(length));
}

}  // namespace smb::server
