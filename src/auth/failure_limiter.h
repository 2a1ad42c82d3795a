// FailureLimiter: slows down key guessing. Each client address has a bucket of `burst` tokens refilled at
// `per_second`; every failed authentication spends one, and while the bucket is empty that address gets 429 for
// every request that needs a key (valid keys included, so guessing cannot be interleaved with real calls).
// Bounded memory: beyond 10,000 tracked addresses the table is cleared. Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ironflow::server {

class FailureLimiter {
 public:
  FailureLimiter(double per_second, double burst) : per_second_(per_second), burst_(burst) {}

  // False while `address` has no tokens left; `retry_after_s` tells when one comes back.
  bool Allowed(const std::string& address, int* retry_after_s);
  void RecordFailure(const std::string& address);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point updated;
  };
  Bucket& Refill(const std::string& address);
  const double per_second_;
  const double burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace ironflow::server
