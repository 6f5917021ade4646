// Bytes of the data path (whole received messages, READ data) that are overwritten before
// they are read: a Buffer is not zero-filled when it is made, and a large one takes its
// memory from a small pool of the process and gives it back when it goes.
//
// Why: a 1 MiB WRITE used to be received into a vector zero-filled first, and every 1 MiB
// READ read into memory fresh from the allocator, which glibc takes from and gives back
// to the kernel (mmap/munmap, brk), so each one paid 256 page faults and the kernel's
// zeroing of those pages. Reused memory costs neither, and stays in the caches.
//
// The pool keeps at most kPoolBuffers buffers and kPoolBytes bytes (what one connection
// doing 1 MiB READs and WRITEs at a depth of 8 needs); a buffer given back beyond that
// is freed. Buffers of less than kPooledMin bytes are plain allocations. A Buffer may go
// on any thread: the pool is guarded by a mutex, taken once per large buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "smbd/base/bytes.hh"

namespace smb {

class Buffer {
 public:
  static constexpr std::size_t kPooledMin = 64 * 1024;
  static constexpr std::size_t kPoolBuffers = 16;
  static constexpr std::size_t kPoolBytes = 20u << 20;

  Buffer() = default;
  // `size` bytes whose content is undefined: the caller writes each byte before any is
  // read (a message received in full, file data read into it).
  static Buffer uninitialized(std::size_t size);
  // A copy of `bytes`.
  static Buffer copy_of(ByteSpan bytes);
  // Takes the storage of `bytes` over, without copying.
  explicit Buffer(Bytes&& bytes);

  Buffer(Buffer&& other) noexcept { take(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    if (this != &other) {
      release();
      take(other);
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { release(); }

  std::uint8_t* data() { return data_; }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::uint8_t* begin() { return data_; }
  std::uint8_t* end() { return data_ + size_; }
  const std::uint8_t* begin() const { return data_; }
  const std::uint8_t* end() const { return data_ + size_; }
  std::uint8_t& operator[](std::size_t i) { return data_[i]; }
  const std::uint8_t& operator[](std::size_t i) const { return data_[i]; }

  // What the pool holds now (tests, status).
  static std::size_t pooled_buffers();
  static std::size_t pooled_bytes();

 private:
  void take(Buffer& other) noexcept {
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    vector_ = std::move(other.vector_);
    other.vector_ = Bytes();
  }
  void release() noexcept;

  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  // The size of the block data_ starts, when this Buffer allocated it (0: the storage is
  // vector_'s, or there is none).
  std::size_t capacity_ = 0;
  Bytes vector_;
};

}  // namespace smb
