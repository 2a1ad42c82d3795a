// KvKeys: the key operations of the user KV store, with the same rules for every caller (the HTTP API, and
// through it the SDKs): reads, writes with a precondition, deletes (optionally purging the key's history),
// atomic counters, and safe retries of a request whose first attempt had an unknown outcome (RequestTag: its
// write, if it landed, is the answer). Keys and buckets are checked here (kInvalidArgument naming the rule).
//
// Errors: kNotFound (bucket or key), kPreconditionFailed (create-only on an existing key, or a key not at the
// If-Match revision: a delete marker's revision never matches), kPayloadTooLarge (a value over the bucket's
// max_value_size), kConflict (an increment of a value that is not an integer, or an overflow), kUnavailable
// (NATS, or the outcome of a write is unknown). Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/request_tag.h"
#include "common/status.h"
#include "common/write_precondition.h"
#include "kv/counter.h"
#include "kv/user_buckets.h"

namespace ironflow::server {

class KvKeys {
 public:
  explicit KvKeys(UserBuckets& buckets) : buckets_(buckets) {}

  // The bucket's keys matching `filter` (NATS wildcards), sorted.
  Result<std::vector<std::string>> Keys(const std::string& env, const std::string& bucket, const std::string& filter);
  Result<KvEntry> Get(const std::string& env, const std::string& bucket, const std::string& key);
  // Returns the new revision (or, for a retry whose first write landed, that write's revision).
  Result<uint64_t> Put(const std::string& env, const std::string& bucket, const std::string& key,
                       std::string_view value, const WritePrecondition& pre, const RequestTag& tag = {});
  // Without `if_revision`, deleting an absent key is OK. `purge`: the key's history goes too.
  Status Delete(const std::string& env, const std::string& bucket, const std::string& key,
                std::optional<uint64_t> if_revision, bool purge, const RequestTag& tag = {});
  // Adds `by` to the integer at `key` (a missing key counts from 0); kv/counter.h.
  Result<CounterValue> Increment(const std::string& env, const std::string& bucket, const std::string& key, int64_t by,
                                 const RequestTag& tag = {});

 private:
  Result<UserBucket> OpenKey(const std::string& env, const std::string& bucket, const std::string& key);

  UserBuckets& buckets_;
  Counters counters_;
};

}  // namespace ironflow::server
