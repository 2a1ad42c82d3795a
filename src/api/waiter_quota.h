// WaiterQuota: caps how many requests one API key may keep waiting at once (long polls, event streams, config
// and KV watches). Waiting costs no thread, but each waiter still holds a socket and some memory; a leaked or
// hostile key must not take them all. Thread-safe; a token may outlive the quota that issued it.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ironflow::server {

class WaiterQuota {
 public:
  explicit WaiterQuota(int per_key) : per_key_(per_key), held_(std::make_shared<Held>()) {}

  // A token that counts against `key` until the last copy is destroyed; nullptr when `key` already holds
  // per_key() waiters.
  std::shared_ptr<void> Acquire(const std::string& key) {
    {
      std::lock_guard<std::mutex> lock(held_->mu);
      int& n = held_->count[key];
      if (n >= per_key_) return nullptr;
      ++n;
    }
    // Points at the shared counts (never dereferenced through it): a non-null token, so `if (!token)` works.
    return std::shared_ptr<void>(held_.get(), [held = held_, key](void*) {
      std::lock_guard<std::mutex> lock(held->mu);
      auto it = held->count.find(key);
      if (it != held->count.end() && --it->second <= 0) held->count.erase(it);
    });
  }
  int per_key() const { return per_key_; }

 private:
  struct Held {
    std::mutex mu;
    std::unordered_map<std::string, int> count;
  };
  const int per_key_;
  std::shared_ptr<Held> held_;
};

}  // namespace ironflow::server
