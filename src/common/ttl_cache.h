// TtlCache: a small thread-safe map whose entries expire after a fixed time-to-live.
//
// Used to remember positive answers that NATS gave recently (an API key is valid, an environment exists) so that
// hot requests skip a round trip. Staleness is bounded by the TTL: a change made through another server process
// is seen here at most `ttl` later; changes made through this process call Erase at once. Size is bounded:
// when full, the cache is cleared rather than grown.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace ironflow::server {

template <typename V>
class TtlCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit TtlCache(Clock::duration ttl, size_t max_entries = 10000) : ttl_(ttl), max_entries_(max_entries) {}

  std::optional<V> Get(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    if (Clock::now() >= it->second.expires) {
      map_.erase(it);
      return std::nullopt;
    }
    return it->second.value;
  }

  void Put(const std::string& key, V value) {
    std::lock_guard<std::mutex> lock(mu_);
    if (map_.size() >= max_entries_) map_.clear();
    map_[key] = Entry{std::move(value), Clock::now() + ttl_};
  }

  void Erase(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    map_.erase(key);
  }

 private:
  struct Entry {
    V value;
    Clock::time_point expires;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;
  Clock::duration ttl_;
  size_t max_entries_;
};

}  // namespace ironflow::server
