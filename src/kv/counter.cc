#include "kv/counter.h"

#include <charconv>
#include <chrono>
#include <algorithm>
#include <thread>

namespace ironflow {

std::optional<int64_t> ParseCounter(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  size_t start = text[0] == '-' ? 1 : 0;
  if (start == text.size()) return std::nullopt;
  for (size_t i = start; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

Result<CounterValue> IncrementCounter(KvBucket& kv, const std::string& key, int64_t by) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    auto current = kv.Get(key);
    if (!current.ok()) return current.status();
    int64_t base = 0;
    if (current->has_value()) {
      auto parsed = ParseCounter((*current)->value);
      if (!parsed) {
        return Status::Conflict("key \"" + key + "\" holds a value that is not an integer counter; "
                                "delete it or use another key");
      }
      base = *parsed;
    }
    int64_t sum = 0;
    if (__builtin_add_overflow(base, by, &sum)) {
      return Status::Conflict("incrementing key \"" + key + "\" would overflow a 64-bit integer");
    }
    const std::string text = std::to_string(sum);
    Result<uint64_t> rev = current->has_value() ? kv.Update(key, text, (*current)->revision) : kv.Create(key, text);
    if (rev.ok()) return CounterValue{sum, *rev};
    if (!rev.status().is(Code::kConflict)) return rev.status();
    // Lost the race: back off a little (randomised, growing) so that contending writers spread out.
    if (attempt >= 2) {
      const auto now = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
      const uint64_t window_us = 50u * static_cast<uint64_t>(std::min(attempt, 20));
      std::this_thread::sleep_for(std::chrono::microseconds((now / 1000) % window_us));
    }
  }
  return Status::Unavailable("counter \"" + key + "\" is under too much contention; try again");
}

}  // namespace ironflow
