// libFuzzer target for what workers send each other through the master's control socket
// (smbd/master/control.hh): the frame itself, read from a socket as a worker or the
// master reads it, and the payloads that come from another worker: a session's facts
// (SESSION_FACTS), a passed SMB Direct channel's HELLO and NEGOTIATE, a durable open's
// fetch request and its answer with the open's state (durable.hh). None of them is
// trusted: each decoder must refuse what it cannot read, never read past its input or
// crash, and what one accepts must encode back to a form it reads the same way.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "smbd/base/unique_fd.hh"
#include "smbd/master/control.hh"
#include "smbd/worker/durable.hh"
#include "smbd/worker/server_state.hh"

using namespace smb;
using namespace smb::server;

namespace {

// The frame as receive_control reads it, through a datagram socket pair as between
// master and worker; an accepted frame is sent and read back unchanged.
void fuzz_frame(ByteSpan input) {
  int sockets[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sockets) != 0) return;
  UniqueFd writer(sockets[0]);
  UniqueFd reader(sockets[1]);
  if (input.empty() || ::send(writer.get(), input.data(), input.size(), 0) < 0) return;
  UniqueFd passed;
  auto message = receive_control(reader.get(), passed);
  if (!message) return;
  if (!send_control(writer.get(), *message)) return;
  auto again = receive_control(reader.get(), passed);
  if (!again || again->type != message->type || again->guid != message->guid ||
      again->count != message->count || again->flags != message->flags ||
      again->payload != message->payload)
    __builtin_trap();
}

void fuzz_payloads(ByteSpan input) {
  if (auto facts = decode_facts(input)) {
    auto again = decode_facts(encode_facts(*facts));
    if (!again || again->dialect != facts->dialect || again->valid != facts->valid ||
        again->keyed != facts->keyed)
      __builtin_trap();
  }
  ByteSpan hello;
  ByteSpan negotiate;
  if (unpack_rdma_handoff(input, hello, negotiate)) {
    if (hello.data() < input.data() ||
        negotiate.data() + negotiate.size() > input.data() + input.size())
      __builtin_trap();
  }
  if (auto fetch = decode_fetch(input)) {
    auto again = decode_fetch(encode(*fetch));
    if (!again || again->persistent_id != fetch->persistent_id || again->owner != fetch->owner ||
        again->share_name != fetch->share_name || again->create_guid != fetch->create_guid)
      __builtin_trap();
  }
  std::uint64_t token = 0;
  NtStatus status = NtStatus::SUCCESS;
  Open open;
  (void)decode_result(input, token, status, open);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan input(data, size);
  fuzz_payloads(input);
  fuzz_frame(input);
  return 0;
}
