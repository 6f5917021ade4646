#include "smbd/base/buffer.hh"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace smb {

namespace {

// Large blocks are page-aligned and sized in steps of 64 KiB, so that a block made for a
// 1 MiB READ serves a 1 MiB WRITE message (1 MiB and a header) and the other way round.
constexpr std::size_t kAlignment = 4096;
constexpr std::size_t kStep = 64 * 1024;

struct Block {
  std::uint8_t* data;
  std::size_t capacity;
};

class Pool {
 public:
  // A kept block of at least `size` bytes and at most twice that (a small request does
  // not pin a large block), the one given back last first: its bytes are the likeliest
  // still in the caches.
  std::uint8_t* take(std::size_t size, std::size_t& capacity) {
    std::lock_guard lock(mutex_);
    for (std::size_t i = free_.size(); i-- > 0;) {
      Block b = free_[i];
      if (b.capacity < size || b.capacity / 2 > size) continue;
      free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
      bytes_ -= b.capacity;
      capacity = b.capacity;
      return b.data;
    }
    return nullptr;
  }

  // False when the pool is full: the caller frees the block.
  bool give(std::uint8_t* data, std::size_t capacity) {
    std::lock_guard lock(mutex_);
    if (free_.size() >= Buffer::kPoolBuffers || bytes_ + capacity > Buffer::kPoolBytes)
      return false;
    try {
      free_.push_back({data, capacity});
    } catch (...) {
      return false;
    }
    bytes_ += capacity;
    return true;
  }

  std::size_t buffers() {
    std::lock_guard lock(mutex_);
    return free_.size();
  }
  std::size_t bytes() {
    std::lock_guard lock(mutex_);
    return bytes_;
  }

 private:
  std::mutex mutex_;
  std::vector<Block> free_;
  std::size_t bytes_ = 0;
};

// Never destroyed: Buffers may be released by static destructors or late threads.
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

Buffer Buffer::uninitialized(std::size_t size) {
  Buffer b;
  if (size == 0) return b;
  if (size < kPooledMin) {
    b.data_ = new std::uint8_t[size];  // default-initialised: not zero-filled
    b.capacity_ = size;
    b.size_ = size;
    return b;
  }
  std::size_t capacity = 0;
  std::uint8_t* data = pool().take(size, capacity);
  if (data == nullptr) {
    capacity = (size + kStep - 1) / kStep * kStep;
    data = static_cast<std::uint8_t*>(std::aligned_alloc(kAlignment, capacity));
    if (data == nullptr) throw std::bad_alloc();
  }
  b.data_ = data;
  b.capacity_ = capacity;
  b.size_ = size;
  return b;
}

Buffer Buffer::copy_of(ByteSpan bytes) {
  Buffer b = uninitialized(bytes.size());
  if (!bytes.empty()) std::memcpy(b.data_, bytes.data(), bytes.size());
  return b;
}

Buffer::Buffer(Bytes&& bytes) : vector_(std::move(bytes)) {
  data_ = vector_.data();
  size_ = vector_.size();
}

void Buffer::release() noexcept {
  if (capacity_ != 0) {
    if (capacity_ < kPooledMin)
      delete[] data_;
    else if (!pool().give(data_, capacity_))
      std::free(data_);
  }
  data_ = nullptr;
  size_ = 0;
  capacity_ = 0;
  vector_ = Bytes();
}

std::size_t Buffer::pooled_buffers() { return pool().buffers(); }
std::size_t Buffer::pooled_bytes() { return pool().bytes(); }

}  // namespace smb
