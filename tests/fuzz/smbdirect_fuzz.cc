// libFuzzer target for the [MS-SMBD] decoders: negotiate request and response, data
// transfer message and buffer descriptor list. The first input byte selects the target.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rdmaproxy/smbdirect/messages.hh"
#include "smbd/base/buffer_descriptor.hh"

using namespace smb;
using namespace smb::smbdirect;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  ByteSpan in(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      NegotiateRequest req;
      if (decode(in, req) == NtStatus::SUCCESS) {
        (void)check_negotiate_request(req);
        Bytes out;
        encode(req, out);
        NegotiateRequest again;
        if (decode(out, again) != NtStatus::SUCCESS ||
            again.credits_requested != req.credits_requested)
          __builtin_trap();
      }
      break;
    }
    case 1: {
      NegotiateResponse resp;
      if (decode(in, resp) == NtStatus::SUCCESS) (void)check_negotiate_response(resp, 8192);
      break;
    }
    case 2: {
      DataTransfer dt;
      if (decode_data_transfer(in, 1048576, dt) == NtStatus::SUCCESS) {
        // The payload view lies inside the message.
        if (dt.data.size() != dt.data_length ||
            (dt.data_length > 0 && (dt.data.data() < in.data() ||
                                    dt.data.data() + dt.data.size() > in.data() + in.size())))
          __builtin_trap();
      }
      break;
    }
    case 3: {
      std::vector<BufferDescriptorV1> list;
      if (decode_buffer_descriptors(in, list) == NtStatus::SUCCESS) {
        Bytes out = encode_buffer_descriptors(list);
        if (out != Bytes(in.begin(), in.end())) __builtin_trap();
      }
      break;
    }
  }
  return 0;
}
