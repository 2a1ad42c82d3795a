#include "auth/failure_limiter.h"

#include <algorithm>
#include <cmath>

namespace ironflow::server {

FailureLimiter::Bucket& FailureLimiter::Refill(const std::string& address) {
  auto now = std::chrono::steady_clock::now();
  if (buckets_.size() > 10000 && !buckets_.count(address)) buckets_.clear();
  auto [it, inserted] = buckets_.try_emplace(address, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!inserted) {
    double elapsed = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * per_second_);
    b.updated = now;
  }
  return b;
}

bool FailureLimiter::Allowed(const std::string& address, int* retry_after_s) {
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = Refill(address);
  if (b.tokens >= 1.0) return true;
  if (retry_after_s) *retry_after_s = static_cast<int>(std::ceil((1.0 - b.tokens) / per_second_));
  return false;
}

void FailureLimiter::RecordFailure(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = Refill(address);
  b.tokens = std::max(0.0, b.tokens - 1.0);
}

}  // namespace ironflow::server
