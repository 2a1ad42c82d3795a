// StoreLayout: every KV bucket Ironflow keeps in NATS, in one table. Server::Start opens exactly these, with one
// loop; backup and restore (backup/backup.h) read the same table to decide what a backup holds and what a
// restore may write. A bucket added here is opened, backed up (or deliberately not) and restored without a
// second list to keep in step. The streams (audit, events, jobs) are opened by their owners' Ensure/Open, each
// with its own limits; their names live with them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ironflow::server {

// Indexes into StoreLayout::buckets. Order = restore order: the key check (system) first.
enum class StoreBucket : size_t {
  kSystem,  // key check, nonce counters, signing key
  kEnvironments,
  kSecrets,
  kAuth,  // API key hashes
  kConfig,
  kFunctions,
  kWorkers,
  kRuns,
  kIdempotency,
  kCount,
};

// What a backup does with a bucket.
enum class InBackup {
  kAlways,
  kWithRuns,  // only with --include-runs
  kNever,     // not needed after a restore (Idempotency-Key records)
};

struct StoreBucketSpec {
  StoreBucket id;
  const char* name;
  const char* description;
  int history;              // revisions kept per key
  int64_t ttl_ms;           // > 0: entries expire this long after their last write (also set on an older bucket)
  int32_t max_value_bytes;  // -1: NATS's default
  InBackup backup;
};

struct StoreLayout {
  // `secret_history`: revisions kept per secret (--secret-history); `run_retention_days`: how long a run record
  // is kept after its last change (--run-retention-days).
  StoreLayout(int secret_history, int run_retention_days);
  // The layout with default history and retention: enough to know names and backup policies.
  StoreLayout() : StoreLayout(10, 30) {}

  const StoreBucketSpec& operator[](StoreBucket b) const { return buckets[static_cast<size_t>(b)]; }
  // Null when `name` is not one of the table's buckets.
  const StoreBucketSpec* Find(const std::string& name) const;

  std::array<StoreBucketSpec, static_cast<size_t>(StoreBucket::kCount)> buckets;
};

// User KV buckets are named app_<environment>_<bucket> (kv/user_buckets.h); a backup holds them all.
inline constexpr const char* kUserBucketPrefix = "app_";
// How long an Idempotency-Key record (api/idempotency.h) is kept: a retry within this window is answered from it.
inline constexpr int64_t kIdempotencyTtlMs = 10 * 60 * 1000;
// Where attempts lived before they moved into run records; only looked for, to warn that it is left over.
inline constexpr const char* kLegacyJobsBucket = "ironflow-jobs";

}  // namespace ironflow::server
