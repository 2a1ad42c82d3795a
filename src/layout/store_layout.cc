#include "layout/store_layout.h"

#include <cstdlib>

#include "auth/api_key_store.h"
#include "config/config_store.h"
#include "runtime/function_registry.h"
#include "runtime/run_store.h"
#include "runtime/worker_registry.h"
#include "secrets/environment_store.h"
#include "secrets/key_check.h"
#include "secrets/secret_store.h"

namespace ironflow::server {

StoreLayout::StoreLayout(int secret_history, int run_retention_days)
    : buckets{{
          {StoreBucket::kSystem, kSystemBucket, "Ironflow system records (key check)", 5, 0, -1, InBackup::kAlways},
          {StoreBucket::kEnvironments, kEnvironmentsBucket, "Ironflow environments", 5, 0, -1, InBackup::kAlways},
          {StoreBucket::kSecrets, kSecretsBucket, "Ironflow secrets (sealed values, clear metadata)", secret_history, 0,
           -1, InBackup::kAlways},
          {StoreBucket::kAuth, kAuthBucket, "Ironflow API key hashes", 5, 0, -1, InBackup::kAlways},
          {StoreBucket::kConfig, kConfigBucket, "Ironflow config documents (readable)", 10, 0,
           static_cast<int32_t>(kMaxConfigBytes + 1024), InBackup::kAlways},
          {StoreBucket::kFunctions, kFunctionsBucket, "Ironflow functions", 1, 0, -1, InBackup::kAlways},
          {StoreBucket::kWorkers, kWorkersBucket, "Ironflow pull-mode workers", 1, 0, -1, InBackup::kAlways},
          {StoreBucket::kRuns, kRunsBucket, "Ironflow runs", 1, int64_t{run_retention_days} * 86400 * 1000, -1,
           InBackup::kWithRuns},
          {StoreBucket::kIdempotency, "ironflow-idempotency",
           "Ironflow Idempotency-Key records (request HMACs, metadata answers)", 1, kIdempotencyTtlMs, -1,
           InBackup::kNever},
      }} {
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (static_cast<size_t>(buckets[i].id) != i) std::abort();  // the table is out of step with StoreBucket
  }
}

const StoreBucketSpec* StoreLayout::Find(const std::string& name) const {
  for (const auto& b : buckets) {
    if (name == b.name) return &b;
  }
  return nullptr;
}

}  // namespace ironflow::server
