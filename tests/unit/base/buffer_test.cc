#include "smbd/base/buffer.hh"

#include <doctest/doctest.h>

#include <cstring>
#include <thread>
#include <vector>

using smb::Buffer;
using smb::Bytes;
using smb::ByteSpan;
using smb::MutableByteSpan;

TEST_CASE("buffer: the size asked for, written and read back through spans") {
  for (std::size_t size :
       {std::size_t{1}, std::size_t{100}, Buffer::kPooledMin - 1, Buffer::kPooledMin,
        std::size_t{1} << 20, (std::size_t{1} << 20) + 164}) {
    Buffer b = Buffer::uninitialized(size);
    REQUIRE(b.size() == size);
    MutableByteSpan span = b;
    std::memset(span.data(), 0x5A, span.size());
    ByteSpan view = b;
    CHECK(view.size() == size);
    CHECK(view.front() == 0x5A);
    CHECK(view.back() == 0x5A);
  }
  CHECK(Buffer::uninitialized(0).empty());
  CHECK(Buffer().data() == nullptr);
}

TEST_CASE("buffer: a large buffer's memory serves the next one of a similar size") {
  std::uint8_t* first = nullptr;
  {
    Buffer b = Buffer::uninitialized((std::size_t{1} << 20) + 164);
    first = b.data();
  }
  CHECK(Buffer::pooled_buffers() >= 1);
  Buffer again = Buffer::uninitialized(std::size_t{1} << 20);
  CHECK(again.data() == first);
  // Far smaller requests do not take it.
  Buffer small = Buffer::uninitialized(Buffer::kPooledMin);
  CHECK(small.data() != first);
}

TEST_CASE("buffer: the pool keeps a bounded number of bytes") {
  std::vector<Buffer> many;
  for (int i = 0; i < 40; ++i) many.push_back(Buffer::uninitialized(std::size_t{1} << 20));
  many.clear();
  CHECK(Buffer::pooled_buffers() <= Buffer::kPoolBuffers);
  CHECK(Buffer::pooled_bytes() <= Buffer::kPoolBytes);
}

TEST_CASE("buffer: moves hand the storage over; a vector's storage is adopted, not copied") {
  Bytes v{1, 2, 3};
  const std::uint8_t* storage = v.data();
  Buffer adopted(std::move(v));
  CHECK(adopted.data() == storage);
  CHECK(adopted.size() == 3);
  Buffer moved = std::move(adopted);
  CHECK(moved.data() == storage);
  CHECK(adopted.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is empty
  Buffer copy = Buffer::copy_of(ByteSpan(moved));
  CHECK(copy.data() != storage);
  CHECK(Bytes(copy.begin(), copy.end()) == Bytes{1, 2, 3});
  moved = std::move(copy);
  CHECK(Bytes(moved.begin(), moved.end()) == Bytes{1, 2, 3});
}

TEST_CASE("buffer: buffers made and released on several threads at once") {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i) {
        Buffer b = Buffer::uninitialized((std::size_t{1} << 20) + static_cast<std::size_t>(t));
        b[0] = static_cast<std::uint8_t>(i);
        b[b.size() - 1] = static_cast<std::uint8_t>(t);
        CHECK(b[b.size() - 1] == t);
      }
    });
  for (auto& th : threads) th.join();
  CHECK(Buffer::pooled_buffers() <= Buffer::kPoolBuffers);
}
