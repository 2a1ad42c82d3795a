// RunStore: run records in KV bucket `ironflow-runs`, key `<environment>.<run_id>`.
//
// A run is one execution of one function for one event: {id, function_id, environment, event_id, event,
// status: queued|running|completed|failed, attempt, output, error, steps:[{id, status, output}], created_at,
// updated_at}. Records hold names and (redacted) outputs, never secret values. Mutate() is a compare-and-set
// loop, so concurrent servers never lose each other's updates. Thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/kv_bucket.h"

namespace ironflow {

inline constexpr const char* kRunsBucket = "ironflow-runs";

struct RunStep {
  std::string id;
  std::string status;       // "completed"
  std::string output_json;  // JSON text
};

struct RunRecord {
  std::string id;
  std::string function_id;
  std::string environment;
  std::string event_id;
  std::string event_name;
  std::string event_data_json = "null";
  std::string event_timestamp;
  std::string status = "queued";
  int attempt = 0;
  std::string output_json = "null";
  std::string error;  // empty: none
  std::vector<RunStep> steps;
  std::string created_at;
  std::string updated_at;
};

std::string EncodeRun(const RunRecord& r);
Result<RunRecord> DecodeRun(std::string_view text);

class RunStore {
 public:
  explicit RunStore(KvBucket& bucket) : bucket_(bucket) {}

  Status Create(const RunRecord& run);
  Result<RunRecord> Get(const std::string& env, const std::string& run_id);
  // Applies `change` to the current record and writes it with compare-and-set, retrying on conflicts.
  // `change` returns false to abandon the write (the record is returned unchanged).
  Result<RunRecord> Mutate(const std::string& env, const std::string& run_id,
                           const std::function<bool(RunRecord&)>& change);
  // Newest first. Empty filters match everything.
  Result<std::vector<RunRecord>> List(const std::string& env, const std::string& function_id,
                                      const std::string& status, size_t limit);

 private:
  KvBucket& bucket_;
};

}  // namespace ironflow
