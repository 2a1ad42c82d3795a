#include "http/request_retry.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "common/hex.h"
#include "crypto/digest.h"

namespace ironflow {
namespace {

bool HasHeader(const HeaderList& headers, std::string_view lower) {
  for (const auto& [name, value] : headers) {
    if (name.size() != lower.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(name[i])) == lower[i];
    if (same) return true;
  }
  return false;
}

}  // namespace

bool IdempotentRoute(std::string_view method, std::string_view target) {
  const auto s = PathSegments(target.substr(0, target.find('?')));
  if (s.size() < 3 || s[0] != "api" || s[1] != "v1") return false;
  const std::string_view area = s[2];
  const bool write = method == "PUT" || method == "PATCH" || method == "DELETE";
  if (area == "events") return s.size() == 3 && method == "POST";
  if (area == "secrets") {
    if (s.size() == 3) return method == "POST";
    if (s.size() == 4) return write;
    return s.size() == 5 && s[4] == "rollback" && method == "POST";
  }
  if (area == "config") return s.size() == 4 && write;
  if (area == "kv" && s.size() >= 7 && s[3] == "buckets" && s[5] == "keys") {
    if (s.size() == 7) return method == "PUT" || method == "DELETE";
    return s.size() == 8 && s[7] == "increment" && method == "POST";
  }
  return false;
}

std::string NewIdempotencyKey() { return HexEncode(RandomBytes(16)); }

Result<ClientResponse> SendWithRetries(HttpClient& client, std::string_view method, std::string_view target,
                                       HeaderList& headers, std::string_view body, int timeout_ms,
                                       const RetryPolicy& policy) {
  const bool read = method == "GET" || method == "HEAD";
  bool keyed = HasHeader(headers, "idempotency-key");
  if (!keyed && IdempotentRoute(method, target)) {
    headers.emplace_back("Idempotency-Key", NewIdempotencyKey());
    keyed = true;
  }
  const bool repeatable = keyed || (read && policy.retry_reads);
  int backoff_ms = policy.first_backoff_ms;
  for (int attempt = 1;; ++attempt) {
    auto res = client.Send(method, target, headers, body, timeout_ms);
    const bool try_later = !res.ok() || res->status == 503 || res->status == 429;
    if (!try_later || !repeatable || attempt >= policy.max_attempts) return res;
    int wait_ms = backoff_ms;
    if (res.ok()) {
      if (auto after = res->header("retry-after")) {
        const int seconds = std::atoi(after->c_str());
        if (seconds > 0) wait_ms = std::min(seconds, 10) * 1000;
      }
    }
    const auto jitter = static_cast<int>(RandomBytes(1)[0]) * wait_ms / 1024;  // up to +25 %
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms + jitter));
    backoff_ms = std::min(backoff_ms * 2, policy.max_backoff_ms);
  }
}

}  // namespace ironflow
