// The READ memory of a connection (smbd/worker/read_memory.hh): READs within the bound
// start at once, the others wait in arrival order for grants to go, and a READ whose
// message already holds data is refused instead of waiting for itself.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "smbd/worker/read_memory.hh"

using namespace smb;
using namespace smb::server;

namespace {

constexpr std::uint64_t kMiB = 1u << 20;

class Loop {
 public:
  Loop() { uv_loop_init(&loop_); }
  ~Loop() {
    uv_run(&loop_, UV_RUN_DEFAULT);  // lets closed handles go
    uv_loop_close(&loop_);
  }
  uv_loop_t* get() { return &loop_; }
  void turn() { uv_run(&loop_, UV_RUN_NOWAIT); }

 private:
  uv_loop_t loop_{};
};

// One READ's view of the memory: its status and grant once started.
struct Started {
  bool called = false;
  NtStatus status = NtStatus::UNSUCCESSFUL;
  ReadMemory::Grant grant;
  ReadMemory::Start start() {
    return [this](NtStatus s, ReadMemory::Grant g) {
      called = true;
      status = s;
      grant = std::move(g);
    };
  }
};

std::shared_ptr<const void> message() { return std::make_shared<int>(0); }

}  // namespace

TEST_CASE("read memory: READs past the bound wait in order and start as data goes") {
  Loop loop;
  auto memory = std::make_shared<ReadMemory>(loop.get(), 16 * kMiB);
  Started a, b, c, d;
  memory->acquire(8 * kMiB, message(), 8 * kMiB, a.start());
  memory->acquire(8 * kMiB, message(), 8 * kMiB, b.start());
  memory->acquire(4 * kMiB, message(), 8 * kMiB, c.start());
  memory->acquire(1 * kMiB, message(), 8 * kMiB, d.start());
  CHECK((a.called && a.status == NtStatus::SUCCESS));
  CHECK((b.called && b.status == NtStatus::SUCCESS));
  // c does not fit; d would, but does not pass c.
  CHECK_FALSE(c.called);
  CHECK_FALSE(d.called);
  CHECK(memory->held() == 16 * kMiB);
  CHECK(memory->waiting() == 2);

  a.grant.reset();
  CHECK_FALSE(c.called);  // started from the loop, not from inside the release
  loop.turn();
  CHECK((c.called && c.status == NtStatus::SUCCESS));
  CHECK((d.called && d.status == NtStatus::SUCCESS));
  CHECK(memory->held() == 13 * kMiB);
  CHECK(memory->peak() == 16 * kMiB);
  b.grant.reset();
  c.grant.reset();
  d.grant.reset();
  CHECK(memory->held() == 0);
}

TEST_CASE("read memory: one message's READs share one READ's worth, and never wait") {
  Loop loop;
  auto memory = std::make_shared<ReadMemory>(loop.get(), 16 * kMiB);
  auto compound = message();
  Started first, second, third;
  memory->acquire(6 * kMiB, compound, 8 * kMiB, first.start());
  memory->acquire(2 * kMiB, compound, 8 * kMiB, second.start());
  // Past the message's share: refused at once.
  memory->acquire(1, compound, 8 * kMiB, third.start());
  CHECK(first.status == NtStatus::SUCCESS);
  CHECK(second.status == NtStatus::SUCCESS);
  CHECK((third.called && third.status == NtStatus::INSUFFICIENT_RESOURCES));

  CHECK(memory->held() == 8 * kMiB);
}

TEST_CASE("read memory: a READ whose compound holds data is refused rather than wait") {
  Loop loop;
  auto memory = std::make_shared<ReadMemory>(loop.get(), 16 * kMiB);
  auto compound = message();
  Started first, other, second;
  memory->acquire(6 * kMiB, compound, 8 * kMiB, first.start());
  memory->acquire(10 * kMiB, message(), 16 * kMiB, other.start());
  CHECK(first.status == NtStatus::SUCCESS);
  CHECK(other.status == NtStatus::SUCCESS);
  // Within the compound's share, but the bound is full: waiting would hold the compound's
  // 6 MiB while it waits (and another compound could wait for those).
  memory->acquire(2 * kMiB, compound, 8 * kMiB, second.start());
  CHECK((second.called && second.status == NtStatus::INSUFFICIENT_RESOURCES));
  CHECK(memory->waiting() == 0);
}

TEST_CASE("read memory: a single READ larger than the bound still starts when alone") {
  Loop loop;
  auto memory = std::make_shared<ReadMemory>(loop.get(), 4 * kMiB);
  Started big;
  memory->acquire(8 * kMiB, message(), 8 * kMiB, big.start());
  CHECK(big.status == NtStatus::SUCCESS);
  Started next;
  memory->acquire(1, message(), 8 * kMiB, next.start());
  CHECK_FALSE(next.called);
  big.grant.reset();
  loop.turn();
  CHECK(next.status == NtStatus::SUCCESS);
}

TEST_CASE("read memory: grants outliving the memory give nothing back to it") {
  Loop loop;
  auto memory = std::make_shared<ReadMemory>(loop.get(), 16 * kMiB);
  Started a, waiting;
  memory->acquire(16 * kMiB, message(), 16 * kMiB, a.start());
  memory->acquire(1, message(), 16 * kMiB, waiting.start());
  memory.reset();
  a.grant.reset();  // must not touch the memory that went
  loop.turn();
  CHECK_FALSE(waiting.called);
}
