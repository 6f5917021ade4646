// Two processes over one segment: hundreds of thousands of descriptors (the rings wrap
// over a thousand times) with random slot sizes and verified contents, then runs where
// one side is SIGKILLed and the other must notice and release everything.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "shmring/channel.hh"
#include "shmring/slot_pool.hh"
#include "test_util.hh"

using namespace smb::shmring;
using smb::UniqueFd;
using namespace smb::shmring::test;
using namespace std::chrono_literals;

namespace {

const Geometry kGeometry{256, 64, 64 * 1024};

enum Op : std::uint16_t {
  kCheck = 1,  // the creator filled the slot; the attacher verifies its checksum
  kFill = 2,   // the attacher fills the slot from a seed; the creator verifies it
  kStop = 3,
};

// Exit codes of the child processes, so a failure says what went wrong.
enum Exit : int {
  kExitOk = 0,
  kExitBadData = 10,
  kExitBadDescriptor = 11,
  kExitCorrupt = 12,
  kExitTimeout = 13,
  kExitPeerGone = 14,
  kExitLeakedFds = 15,
  kExitLeakedMapping = 16,
  kExitNoPeerGone = 17,
  kExitException = 18,
};

// Deterministic contents: word i is a hash of (seed, i). Words are independent of each
// other, so generating and checking them pipelines well.
std::uint64_t word(std::uint64_t seed, std::uint64_t i) {
  std::uint64_t z = seed ^ (i * 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void fill(std::span<std::uint8_t> out, std::uint64_t seed) {
  const std::size_t words = out.size() / 8;
  for (std::size_t i = 0; i < words; ++i) {
    const std::uint64_t w = word(seed, i);
    std::memcpy(out.data() + 8 * i, &w, 8);
  }
  const std::uint64_t w = word(seed, words);
  std::memcpy(out.data() + 8 * words, &w, out.size() % 8);
}

bool matches(std::span<const std::uint8_t> in, std::uint64_t seed) {
  const std::size_t words = in.size() / 8;
  std::uint64_t diff = 0;
  for (std::size_t i = 0; i < words; ++i) {
    std::uint64_t w;
    std::memcpy(&w, in.data() + 8 * i, 8);
    diff |= w ^ word(seed, i);
  }
  std::uint64_t w = 0, expect = word(seed, words);
  std::memcpy(&w, in.data() + 8 * words, in.size() % 8);
  std::memset(reinterpret_cast<std::uint8_t*>(&expect) + in.size() % 8, 0, 8 - in.size() % 8);
  return (diff | (w ^ expect)) == 0;
}

// A word-at-a-time checksum over four independent lanes, so it runs at memory speed
// and the rings, not the hashing, set the message rate.
std::uint64_t checksum(std::span<const std::uint8_t> in) {
  std::array<std::uint64_t, 4> h = {0x9E3779B97F4A7C15ull ^ in.size(), 1, 2, 3};
  std::size_t i = 0;
  for (; i + 32 <= in.size(); i += 32) {
    for (std::size_t lane = 0; lane < 4; ++lane) {
      std::uint64_t w;
      std::memcpy(&w, in.data() + i + 8 * lane, 8);
      h[lane] = std::rotl(h[lane] ^ w, 29) * 0xBF58476D1CE4E5B9ull;
    }
  }
  std::uint64_t acc = h[0] ^ std::rotl(h[1], 16) ^ std::rotl(h[2], 32) ^ std::rotl(h[3], 48);
  for (; i < in.size(); ++i) acc = (acc ^ in[i]) * 0x100000001B3ull;
  return acc ^ (acc >> 31);
}

void put_u64(Descriptor& d, std::size_t at, std::uint64_t v) {
  std::memcpy(d.payload.data() + at, &v, 8);
}
std::uint64_t get_u64(const Descriptor& d, std::size_t at) {
  std::uint64_t v;
  std::memcpy(&v, d.payload.data() + at, 8);
  return v;
}

// The proxy-like side: serves requests until told to stop or the peer goes away.
// Returns an Exit code; kExitPeerGone when the creator vanished.
int serve(Channel& ch, std::uint64_t report_after, int progress_fd) {
  std::uint64_t served = 0;
  for (;;) {
    Descriptor d;
    const RingStatus s = ch.receive(d);
    if (s == RingStatus::corrupt) return kExitCorrupt;
    if (s == RingStatus::empty) {
      const WaitResult w = ch.wait(Interest::receive, 10s);
      if (w == WaitResult::peer_gone) return kExitPeerGone;
      if (w != WaitResult::ready) return w == WaitResult::timeout ? kExitTimeout : kExitCorrupt;
      continue;
    }
    if (d.op == kStop) return kExitOk;
    auto data = ch.slot_bytes(d);
    if (!data || d.payload_length != 16) return kExitBadDescriptor;
    if (d.op == kCheck) {
      d.status = checksum(*data) == get_u64(d, 8) ? 0 : 1;
    } else if (d.op == kFill) {
      fill(*data, get_u64(d, 0));
      put_u64(d, 8, checksum(*data));
    } else {
      return kExitBadDescriptor;
    }
    while (ch.send(d) == RingStatus::full) {
      const WaitResult w = ch.wait(Interest::send, 10s);
      if (w == WaitResult::peer_gone) return kExitPeerGone;
      if (w != WaitResult::ready) return w == WaitResult::timeout ? kExitTimeout : kExitCorrupt;
    }
    if (++served == report_after && progress_fd >= 0) (void)!::write(progress_fd, "a", 1);
  }
}

struct InFlight {
  std::uint64_t request_id;
  std::uint64_t seed;
  std::uint16_t op;
};

// The worker-like side: posts `total` requests (0: until the peer goes away) with random
// sizes, offsets and directions, and verifies every completion. Returns an Exit code.
int drive(Channel& ch, std::uint64_t total, std::uint64_t report_after, int progress_fd) {
  const Geometry& g = ch.geometry();
  SlotPool pool(g.slot_count);
  std::vector<InFlight> in_flight(g.slot_count);
  std::mt19937_64 rng(12345);
  std::uint64_t sent = 0, done = 0;
  while (total == 0 || done < total) {
    bool progress = false;
    bool ring_full = false;
    while (total == 0 || sent < total) {
      const std::optional<std::uint32_t> slot = pool.acquire();
      if (!slot) break;
      Descriptor d;
      d.request_id = sent;
      d.slot = *slot;
      // Sizes log-uniform below 16 KiB (most SMB I/O is small), one in 32 uniform up to
      // a whole slot, all at random offsets inside the slot.
      if (rng() % 32 == 0) {
        d.length = static_cast<std::uint32_t>(rng() % (g.slot_size + 1));
      } else {
        d.length = static_cast<std::uint32_t>(rng() % (1u << (rng() % 15)));
      }
      d.slot_offset = static_cast<std::uint32_t>(rng() % (g.slot_size - d.length + 1));
      d.op = (rng() & 1) != 0 ? kCheck : kFill;
      d.payload_length = 16;
      const std::uint64_t seed = rng();
      put_u64(d, 0, seed);
      if (d.op == kCheck) {
        auto data = ch.slot_bytes(d);
        fill(*data, seed);
        put_u64(d, 8, checksum(*data));
      }
      const RingStatus s = ch.send(d);
      if (s != RingStatus::ok) {
        pool.release(*slot);
        if (s == RingStatus::corrupt) return kExitCorrupt;
        ring_full = true;
        break;
      }
      in_flight[*slot] = {sent, seed, d.op};
      ++sent;
      progress = true;
    }
    Descriptor c;
    RingStatus s;
    while ((s = ch.receive(c)) == RingStatus::ok) {
      // The completion's slot comes from the peer: check it before using it.
      if (!pool.in_use(c.slot) || in_flight[c.slot].request_id != c.request_id ||
          in_flight[c.slot].op != c.op || c.payload_length != 16)
        return kExitBadDescriptor;
      auto data = ch.slot_bytes(c);
      if (!data) return kExitBadDescriptor;
      if (c.op == kCheck && c.status != 0) return kExitBadData;
      if (c.op == kFill) {
        if (checksum(*data) != get_u64(c, 8) || !matches(*data, in_flight[c.slot].seed))
          return kExitBadData;
      }
      pool.release(c.slot);
      ++done;
      progress = true;
      if (done == report_after && progress_fd >= 0) (void)!::write(progress_fd, "c", 1);
    }
    if (s == RingStatus::corrupt) return kExitCorrupt;
    if (!progress) {
      // Waiting for ring space makes sense only when a slot is free to send with.
      const WaitResult w = ch.wait(ring_full ? Interest::either : Interest::receive, 10s);
      if (w == WaitResult::peer_gone) return kExitPeerGone;
      if (w != WaitResult::ready) return w == WaitResult::timeout ? kExitTimeout : kExitCorrupt;
    }
  }
  Descriptor stop;
  stop.op = kStop;
  while (ch.send(stop) == RingStatus::full)
    if (ch.wait(Interest::send, 10s) != WaitResult::ready) return kExitTimeout;
  return kExitOk;
}

// Runs `body` in a child process and returns its pid. The child exits with body's
// result and never returns into the test framework.
template <class Body>
pid_t spawn(Body body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::alarm(60);  // a hung child dies instead of hanging the test run
    int code;
    try {
      code = body();
    } catch (...) {
      code = kExitException;
    }
    ::_exit(code);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) return 1000 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

// The survivor's epilogue: it must have seen the peer go, and once its channel is gone
// no descriptor or mapping of it may remain.
int survive(Channel ch, int result, int fds_without_channel) {
  if (result != kExitPeerGone) return result == kExitOk ? kExitNoPeerGone : result;
  if (!ch.peer_gone()) return kExitNoPeerGone;
  { Channel release = std::move(ch); }
  if (count_open_fds() != fds_without_channel) return kExitLeakedFds;
  if (count_segment_mappings() != 0) return kExitLeakedMapping;
  return kExitOk;
}

}  // namespace

// The count is what the rings' wrap-around and the slot pool's reuse need many times
// over; more only lengthens the run where the two processes wait on a busy machine (each
// wait for the peer is a scheduling round trip), which is what the time limit measures.
TEST_CASE("stress: two processes, 300,000 messages with random sizes, all verified") {
  constexpr std::uint64_t kMessages = 300'000;
  const int fds_before = count_open_fds();
  auto [mine, theirs] = socket_pair();
  const pid_t child = spawn([&mine = mine, &theirs = theirs] {
    mine.reset();
    Channel ch = Channel::attach(std::move(theirs), 5000);
    return serve(ch, 0, -1);
  });
  theirs.reset();

  const auto start = std::chrono::steady_clock::now();
  int result;
  {
    Channel ch = Channel::create(std::move(mine), kGeometry);
    result = drive(ch, kMessages, 0, -1);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(result == kExitOk);
  CHECK(wait_exit(child) == kExitOk);
  MESSAGE(kMessages << " requests + completions in " << seconds << " s: "
                    << static_cast<std::uint64_t>(kMessages / seconds) << " round trips/s");
  CHECK(count_open_fds() == fds_before);
  CHECK(count_segment_mappings() == 0);
}

TEST_CASE("stress: a side SIGKILLed mid-run is noticed and the survivor releases all") {
  for (const Role victim : {Role::attacher, Role::creator}) {
    const std::string killed = victim == Role::attacher ? "attacher" : "creator";
    CAPTURE(killed);
    // Named variables, not a structured binding: the lambdas below capture them.
    auto sockets = socket_pair();
    UniqueFd c_end = std::move(sockets.first);
    UniqueFd a_end = std::move(sockets.second);
    int progress[2];
    REQUIRE(::pipe2(progress, O_CLOEXEC) == 0);
    UniqueFd progress_r(progress[0]), progress_w(progress[1]);

    const pid_t creator = spawn([&] {
      a_end.reset();
      progress_r.reset();
      const int fds_without_channel = count_open_fds() - 1;  // the channel owns c_end
      Channel ch = Channel::create(std::move(c_end), kGeometry);
      const int r = drive(ch, 0, 20000, progress_w.get());
      return survive(std::move(ch), r, fds_without_channel);
    });
    const pid_t attacher = spawn([&] {
      c_end.reset();
      progress_r.reset();
      const int fds_without_channel = count_open_fds() - 1;  // the channel owns a_end
      Channel ch = Channel::attach(std::move(a_end), 5000);
      const int r = serve(ch, 20000, progress_w.get());
      return survive(std::move(ch), r, fds_without_channel);
    });
    c_end.reset();
    a_end.reset();
    progress_w.reset();

    // Both sides have moved real traffic before the kill.
    std::array<char, 2> marks{};
    REQUIRE(::read(progress_r.get(), marks.data(), 1) == 1);
    REQUIRE(::read(progress_r.get(), marks.data() + 1, 1) == 1);
    std::this_thread::sleep_for(20ms);

    const pid_t dead = victim == Role::attacher ? attacher : creator;
    const pid_t survivor = victim == Role::attacher ? creator : attacher;
    REQUIRE(::kill(dead, SIGKILL) == 0);
    CHECK(wait_exit(dead) == 1000 + SIGKILL);
    CHECK(wait_exit(survivor) == kExitOk);
  }
}
