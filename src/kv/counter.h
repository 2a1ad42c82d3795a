// Atomic counters on a KV key. The value is stored as ASCII decimal (e.g. "42"), so it reads like any other
// value. Increment is a compare-and-set loop: read the latest revision, add, write conditionally on that
// revision, and on a conflict (another writer got in first) read again. No increment is lost or applied twice.
//
// Counters makes the common case cheap without weakening that: increments of one key from this process are
// serialized (striped locks, so they do not fight each other), and the value and revision this process last
// wrote are remembered, so an increment nobody else raced is a single conditional write with no read. Another
// process's write makes that write fail the compare-and-set, and the loop reads again.
#pragma once

#include <array>
#include <mutex>
#include <unordered_map>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "store/kv_bucket.h"

namespace ironflow::server {

struct CounterValue {
  int64_t value = 0;
  uint64_t revision = 0;
};

// Strict ASCII decimal int64: optional '-', digits, nothing else; nullopt otherwise (including overflow).
std::optional<int64_t> ParseCounter(std::string_view text);

// Adds `by` to the counter at `key` (a missing key counts from 0). kConflict when the stored value is not an
// integer or the sum would overflow int64; kUnavailable when contention outlasts the retry budget or the outcome
// of the write is unknown. Every write carries `tag` (or, without one, a tag of the call's own), and each read of
// the loop looks at the key's latest write: if it carries that tag, a write of this request landed although its
// answer was lost or it was taken for refused (a failover), and its value and revision are the answer instead of
// adding again. For a `tag.retry`, the same finds an earlier attempt's write (exact for a key one client
// increments; if another write came after the earlier attempt's, the retry cannot see it and adds again).
Result<CounterValue> IncrementCounter(KvBucket& kv, const std::string& key, int64_t by, const RequestTag& tag = {});

class Counters {
 public:
  // As IncrementCounter. Thread-safe.
  Result<CounterValue> Increment(KvBucket& kv, const std::string& key, int64_t by, const RequestTag& tag = {});

 private:
  std::optional<CounterValue> Remembered(const std::string& id);
  void Remember(const std::string& id, std::optional<CounterValue> v);

  std::array<std::mutex, 64> stripes_;
  std::mutex cache_mu_;
  std::unordered_map<std::string, CounterValue> last_written_;  // "<bucket>/<key>" -> what we wrote last
};

}  // namespace ironflow::server
