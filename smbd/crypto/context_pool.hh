// The OpenSSL state of one key, for several threads at once.
//
// An EVP context holds the state of one computation and must not be shared between
// threads. A key object (Signer, Encryptor, Decryptor) that may be used by the loop and by
// pool threads at the same time keeps a pool of contexts built from its key: a use takes
// one (a new one when all are in use), and gives it back when done. The pool never holds
// more contexts than the most threads that used the key at once, and frees them, with the
// key schedules in them, together with the key object; no thread keeps a context of a key
// that is gone.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace smb::crypto::detail {

template <typename Context>
class ContextPool {
 public:
  // A context taken from the pool, given back when the lease ends.
  class Lease {
   public:
    Lease(ContextPool& pool, std::unique_ptr<Context> context)
        : pool_(&pool), context_(std::move(context)) {}
    ~Lease() {
      if (context_) pool_->give_back(std::move(context_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Context& operator*() const { return *context_; }
    Context* operator->() const { return context_.get(); }

   private:
    ContextPool* pool_;
    std::unique_ptr<Context> context_;
  };

  // `make` builds a fresh context; it may throw (the use that needed it then fails).
  explicit ContextPool(std::function<std::unique_ptr<Context>()> make) : make_(std::move(make)) {}
  ContextPool(const ContextPool&) = delete;
  ContextPool& operator=(const ContextPool&) = delete;

  Lease take() {
    {
      std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        std::unique_ptr<Context> context = std::move(free_.back());
        free_.pop_back();
        return Lease(*this, std::move(context));
      }
    }
    return Lease(*this, make_());
  }

 private:
  // From a destructor: a context that cannot be kept (no memory) is simply freed.
  void give_back(std::unique_ptr<Context> context) noexcept {
    std::lock_guard lock(mutex_);
    try {
      free_.push_back(std::move(context));
    } catch (...) {
    }
  }

  std::function<std::unique_ptr<Context>()> make_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Context>> free_;
};

}  // namespace smb::crypto::detail
