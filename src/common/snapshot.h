// Snapshot<T>: a value loaded at most once per `max_age`, however often it is asked for.
//
// For answers that cost a round trip and may be slightly old, asked for by callers we do not control (the
// unauthenticated GET /metrics reads queue depths and nonce counts from NATS: without this, every scrape, and every
// request of anyone who can reach the port, would cost NATS requests). Get returns the last loaded value while it
// is younger than `max_age`; otherwise it loads anew. Concurrent callers of a stale snapshot share one load: the
// first loads while the others wait for it, then all return its value. A load is never run twice at once.
// Thread-safe. The clock is injectable for tests.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>

namespace ironflow::server {

template <typename T>
class Snapshot {
 public:
  using Clock = std::chrono::steady_clock;

  Snapshot(Clock::duration max_age, std::function<T()> load, std::function<Clock::time_point()> now = Clock::now)
      : max_age_(max_age), load_(std::move(load)), now_(std::move(now)) {}

  T Get() {
    std::lock_guard<std::mutex> lock(mu_);  // held across the load: callers that arrive meanwhile share it
    if (!value_ || now_() - loaded_at_ >= max_age_) {
      value_ = load_();
      loaded_at_ = now_();  // after the load: a slow load does not shorten the next value's life
    }
    return *value_;
  }

 private:
  const Clock::duration max_age_;
  const std::function<T()> load_;
  const std::function<Clock::time_point()> now_;
  std::mutex mu_;
  std::optional<T> value_;
  Clock::time_point loaded_at_{};
};

}  // namespace ironflow::server
