// UserBuckets: the KV store users get, one namespace of buckets per environment.
//
// User bucket `B` of environment `E` is the NATS KV bucket `app_E_B`. Environment names never contain `_`, so the
// prefix `app_E_` names exactly E's buckets, and no user-supplied name can reach a system bucket (those are
// `ironflow-*`): a user bucket called `secrets` is just `app_E_secrets`. Bucket settings (description, TTL,
// history, max value size) live in the bucket's own stream, so every server process sees the same buckets.
//
// Creating and deleting a bucket publish system.kv.{bucket}.{created|deleted} (SystemEvents); the change is
// acknowledged only once its audit event is stored (kUnavailable otherwise, with the change made).
//
// Open() hands out a shared handle for key operations and remembers it for 2 s; a bucket deleted through another
// server is noticed within that time (writes to it meanwhile fail as unavailable). Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/ttl_cache.h"
#include "events/system_events.h"
#include "store/kv_admin.h"
#include "store/kv_bucket.h"
#include "store/nats_connection.h"

namespace ironflow::server {

inline constexpr int32_t kDefaultMaxKvValueBytes = 512 * 1024;
inline constexpr int32_t kMaxKvValueBytes = 1000 * 1000;  // below NATS's default 1 MiB max payload
inline constexpr int64_t kMaxKvTtlSeconds = int64_t{10} * 366 * 24 * 3600;

struct BucketSpec {
  std::string name;
  std::string description;
  int64_t ttl_seconds = 0;  // 0: keys never expire
  int history = 1;          // 1..64
  int32_t max_value_size = kDefaultMaxKvValueBytes;
  int replicas = 0;  // 1..5; 0: the server's --kv-replicas
};

struct UserBucket {
  std::shared_ptr<KvBucket> kv;
  int32_t max_value_size = kDefaultMaxKvValueBytes;
};

class UserBuckets {
 public:
  // `replicated_cas_safe`: NATS passed the version gate for replicated storage (or the operator overrode it);
  // without it, a bucket with more than one replica is refused.
  UserBuckets(NatsConnection& nc, SystemEvents& events, int replicas, bool replicated_cas_safe)
      : nc_(nc),
        events_(events),
        replicas_(replicas),
        replicated_cas_safe_(replicated_cas_safe),
        open_(std::chrono::seconds(2)) {}

  static std::string NatsName(const std::string& env, const std::string& bucket) { return "app_" + env + "_" + bucket; }

  // Checks the spec's ranges (kInvalidArgument naming the field). kAlreadyExists when the bucket exists;
  // kInvalidArgument for replicas > 1 on a NATS older than the version gate's minimum.
  Result<KvBucketInfo> Create(const std::string& env, const BucketSpec& spec, const Actor& actor);
  // The environment's buckets, sorted by name (info.name is the user's name, not the NATS one).
  Result<std::vector<KvBucketInfo>> List(const std::string& env);
  // kNotFound when absent.
  Result<KvBucketInfo> Info(const std::string& env, const std::string& bucket);
  // kNotFound when absent.
  Status Delete(const std::string& env, const std::string& bucket, const Actor& actor);
  // A handle for key operations; kNotFound when the bucket does not exist.
  Result<UserBucket> Open(const std::string& env, const std::string& bucket);

 private:
  Result<KvBucketInfo> UserInfo(const std::string& env, const std::string& bucket);
  NatsConnection& nc_;
  SystemEvents& events_;
  int replicas_;
  bool replicated_cas_safe_;
  TtlCache<UserBucket> open_;
};

}  // namespace ironflow::server
