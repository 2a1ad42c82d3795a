#include "kv/counter.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <thread>

#include "common/hex.h"
#include "crypto/digest.h"

namespace ironflow::server {

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

namespace {

// The key's current value and revision, for the CAS loop: its latest write, with the tag that write carried. If
// the tag is this request's (`landed`), an earlier write of this request landed after all (an earlier attempt's,
// or one of this loop's whose answer was lost in a failover): it is the answer, and adding again would count the
// increment twice.
struct CounterRead {
  bool exists = false;
  int64_t value = 0;
  uint64_t revision = 0;
  bool landed = false;
};

Result<CounterRead> ReadCounter(KvBucket& kv, const std::string& key, const std::string& tag) {
  CounterRead out;
  std::optional<std::string> text;
  IF_ASSIGN_OR_RETURN(auto last, kv.LastWrite(key));
  if (last.has_value() && !(last)->deleted) {
    text = std::move((last)->value);
    out.revision = (last)->revision;
    out.landed = (last)->tag == tag;
  }
  if (!text) return out;
  auto parsed = ParseCounter(*text);
  if (!parsed) {
    return Status::Conflict("key \"" + key +
                            "\" holds a value that is not an integer counter; delete it or use another key");
  }
  out.exists = true;
  out.value = *parsed;
  return out;
}

// The CAS loop. `hint`, when set, is a (value, revision) this process wrote earlier: the first attempt writes
// on top of it without reading; if the key moved on since, the write fails and the loop reads as usual. A retried
// request (`tag.retry`) never uses the hint: it reads first, to find an earlier attempt's write.
Result<CounterValue> IncrementLoop(KvBucket& kv, const std::string& key, int64_t by, std::optional<CounterValue> hint,
                                   const RequestTag& tag) {
  if (tag.retry) hint.reset();
  // Every write of the loop is tagged, with the request's tag or one of its own, so that the loop can recognise
  // its own write when its answer was lost.
  const std::string id = tag.id.empty() ? HexEncode(RandomBytes(16)) : tag.id;
  for (int attempt = 0; attempt < kCasRetryBudget; ++attempt) {
    bool exists = false;
    int64_t base = 0;
    uint64_t revision = 0;
    if (attempt == 0 && hint) {
      exists = true;
      base = hint->value;
      revision = hint->revision;
    } else {
      IF_ASSIGN_OR_RETURN(auto current, ReadCounter(kv, key, id));
      if (current.landed) return CounterValue{current.value, current.revision};
      exists = current.exists;
      base = current.value;
      revision = current.revision;
    }
    int64_t sum = 0;
    if (__builtin_add_overflow(base, by, &sum)) {
      if (attempt == 0 && hint) continue;  // the hint may be stale: decide on what is stored
      return Status::Conflict("incrementing key \"" + key + "\" would overflow a 64-bit integer");
    }
    const std::string text = std::to_string(sum);
    Result<uint64_t> rev = exists ? kv.Update(key, text, revision, id) : kv.Create(key, text, id);
    if (rev.ok()) return CounterValue{sum, *rev};
    if (!rev.status().is(Code::kConflict)) return rev.status();
    // Lost the race to another process: back off a little (growing) so that contending writers spread out.
    if (attempt >= 2) {
      const auto now = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
      const uint64_t window_us = 50u * static_cast<uint64_t>(std::min(attempt, 20));
      std::this_thread::sleep_for(std::chrono::microseconds((now / 1000) % window_us));
    }
  }
  return Status::Unavailable("counter \"" + key + "\" is under too much contention; try again");
}

}  // namespace

Result<CounterValue> IncrementCounter(KvBucket& kv, const std::string& key, int64_t by, const RequestTag& tag) {
  return IncrementLoop(kv, key, by, std::nullopt, tag);
}

Result<CounterValue> Counters::Increment(KvBucket& kv, const std::string& key, int64_t by, const RequestTag& tag) {
  const std::string id = kv.name() + "/" + key;
  std::lock_guard<std::mutex> serial(stripes_[std::hash<std::string>{}(id) % stripes_.size()]);
  auto out = IncrementLoop(kv, key, by, Remembered(id), tag);
  Remember(id, out.ok() ? std::optional<CounterValue>(*out) : std::nullopt);
  return out;
}

std::optional<CounterValue> Counters::Remembered(const std::string& id) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  auto it = last_written_.find(id);
  if (it == last_written_.end()) return std::nullopt;
  return it->second;
}

void Counters::Remember(const std::string& id, std::optional<CounterValue> v) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (!v) {
    last_written_.erase(id);
    return;
  }
  if (last_written_.size() >= 10000) last_written_.clear();  // bounded; a miss only costs a read
  last_written_[id] = *v;
}

}  // namespace ironflow::server
