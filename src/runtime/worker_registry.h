// WorkerRegistry: pull-mode workers per environment, in KV bucket `ironflow-workers`, key
// `<environment>.<worker_id>`: {worker_id, function_ids, max_concurrent_jobs, lease_ms, registered_at,
// last_seen}. Any server can serve any worker: registrations live in NATS. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/ttl_cache.h"
#include "store/kv_bucket.h"

namespace ironflow::server {

inline constexpr const char* kWorkersBucket = "ironflow-workers";

struct WorkerInfo {
  std::string worker_id;
  std::vector<std::string> function_ids;
  int max_concurrent_jobs = 1;
  int64_t lease_ms = 30000;
  std::string registered_at;
  std::string last_seen;
};

Status ValidateWorkerId(std::string_view id);

class WorkerRegistry {
 public:
  explicit WorkerRegistry(KvBucket& bucket) : bucket_(bucket), cache_(std::chrono::seconds(1)) {}
  Status Register(const std::string& env, const WorkerInfo& info);
  // kNotFound when the worker never registered in `env`. Answers from a 1 s cache when it can (a long poll asks on
  // every wake-up); a registration through another server is seen within a second.
  Result<WorkerInfo> Get(const std::string& env, const std::string& worker_id);

 private:
  KvBucket& bucket_;
  TtlCache<WorkerInfo> cache_;
};

}  // namespace ironflow::server
