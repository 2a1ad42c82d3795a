// JobQueue: attempts waiting for, or being, delivered — in KV bucket `ironflow-jobs`, key `<environment>.<job_id>`.
//
// A job is one attempt of one run. It is `pending` (deliverable once now >= not_before_ms) or `leased` (to a pull
// worker, or to a server dispatching it in push mode) until lease_expires_ms. Leasing and finishing are
// compare-and-set writes on the job's KV revision, so among any number of workers and servers exactly one holds a
// lease, and a finished job cannot be finished twice. Job records hold secret *names* and the revisions resolved
// for the attempt (for redaction), never values. Enqueue publishes `ironflow.jobs.ready.<environment>` (core NATS)
// so long-polling servers wake at once. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/kv_bucket.h"
#include "store/kv_mirror.h"
#include "store/nats_connection.h"

namespace ironflow {

inline constexpr const char* kJobsBucket = "ironflow-jobs";

struct JobRecord {
  std::string job_id;
  std::string run_id;
  std::string function_id;
  std::string environment;
  std::string mode;  // "pull" or "push"
  int attempt = 1;
  std::string state = "pending";  // "pending" or "leased"
  int64_t not_before_ms = 0;
  std::string lease_token;
  std::string worker_id;
  int64_t leased_at_ms = 0;
  int64_t lease_expires_ms = 0;
  std::map<std::string, uint64_t> resolved;  // secret name -> revision delivered with this attempt

  std::string key() const { return environment + "." + job_id; }
};

struct StoredJob {
  JobRecord job;
  uint64_t revision = 0;
};

std::string NewId(const char* prefix);  // prefix + 24 random hex chars

class JobQueue {
 public:
  // With a mirror, List reads memory (a hint: leases are still compare-and-set on the bucket).
  JobQueue(KvBucket& bucket, NatsConnection& nats, KvMirror* mirror = nullptr)
      : bucket_(bucket), nats_(nats), mirror_(mirror) {}

  Status Enqueue(const JobRecord& job);
  // Every job of `env` ("" for all environments).
  Result<std::vector<StoredJob>> List(const std::string& env);
  Result<StoredJob> Get(const std::string& env, const std::string& job_id);
  // Writes `job` over the stored revision `expected`. kConflict if someone else changed it first.
  Result<uint64_t> Replace(const JobRecord& job, uint64_t expected);
  // Removes the job if it is still at `expected`. kConflict otherwise.
  Status Remove(const JobRecord& job, uint64_t expected);

  static std::string ReadySubject(const std::string& env) { return "ironflow.jobs.ready." + env; }

 private:
  void Mirror(const JobRecord& job, const std::string& value, uint64_t revision, bool deleted);
  KvBucket& bucket_;
  NatsConnection& nats_;
  KvMirror* mirror_;
};

}  // namespace ironflow
