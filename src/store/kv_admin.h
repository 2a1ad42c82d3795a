// Bucket-level administration of NATS KV buckets that KvBucket (one open bucket) does not cover: reading a
// bucket's settings and usage, listing buckets by name prefix, deleting a bucket. Settings kvStatus lacks
// (description, creation time, max value size, bytes) come from the bucket's stream (`KV_<bucket>`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/nats_connection.h"

namespace ironflow::server {

struct KvBucketInfo {
  std::string name;
  std::string description;
  int64_t ttl_ms = 0;  // 0: entries never expire
  int history = 1;
  int32_t max_value_size = -1;  // -1: unlimited
  int replicas = 1;
  uint64_t values = 0;  // messages in the bucket's stream (history and delete markers included)
  uint64_t bytes = 0;
  int64_t created_ns = 0;
};

// kNotFound when the bucket does not exist.
Result<KvBucketInfo> GetKvBucketInfo(NatsConnection& nc, const std::string& bucket);
// Names of the buckets whose name starts with `prefix`, sorted.
Result<std::vector<std::string>> ListKvBuckets(NatsConnection& nc, const std::string& prefix);
// kNotFound when the bucket does not exist.
Status DeleteKvBucket(NatsConnection& nc, const std::string& bucket);

}  // namespace ironflow::server
