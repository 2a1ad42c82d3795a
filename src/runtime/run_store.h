// RunStore: run records in KV bucket `ironflow-runs`, key `<environment>.<run_id>`.
//
// A run is one execution of one function for one event: {id, function_id, environment, event_id, event,
// status: queued|running|completed|failed, attempt, output, error, steps:[{id, status, output}], created_at,
// updated_at}. An unfinished run also carries its `delivery`: the attempt waiting for, or being, delivered
// (pending until not_before_ms, or leased to a pull worker or a pushing server until lease_expires_ms). Because
// the run and its attempt are one record, every transition — lease, result, retry, lost lease — is a single
// compare-and-set write: among any number of workers and servers exactly one wins, and no crash can leave a run
// half-finished. Records hold secret names and the revisions delivered (for redaction), never values; outputs
// are stored redacted. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/run_state.h"
#include "store/kv_bucket.h"
#include "store/kv_mirror.h"
#include "store/revision_cache.h"

namespace ironflow::server {

inline constexpr const char* kRunsBucket = "ironflow-runs";

// A memoized step: only completed steps are kept (stored with status "completed").
struct RunStep {
  std::string id;
  std::string output_json;  // JSON text
};

// The attempt of an unfinished run that is waiting for, or in, delivery. `state` is kNone once the run ended.
struct Delivery {
  std::string job_id;  // JobIdFor(run id, attempt)
  DeliveryMode mode = DeliveryMode::kPull;
  int attempt = 1;
  DeliveryState state = DeliveryState::kNone;
  int64_t not_before_ms = 0;
  std::string lease_token;
  std::string worker_id;  // pull worker, or the pushing server
  int64_t leased_at_ms = 0;
  int64_t lease_expires_ms = 0;
  std::map<std::string, uint64_t> resolved;  // secret name -> revision delivered with this attempt
  std::string queue;     // "jobs": the run's job message is in the job stream (runs recorded before it: empty)
  uint64_t job_seq = 0;  // while leased: the stream sequence of the job message the lease was taken from
};

struct RunRecord {
  std::string id;
  std::string function_id;
  std::string environment;
  std::string event_id;
  std::string event_name;
  std::string event_data_json = "null";
  std::string event_timestamp;
  RunStatus status = RunStatus::kQueued;
  int attempt = 0;  // the attempt last started (0 before the first)
  std::string output_json = "null";
  std::string error;  // empty: none
  std::vector<RunStep> steps;
  std::string created_at;
  std::string updated_at;
  Delivery delivery;
  // "<lease id>:<result digest>" of the worker result that moved the run last (stored form only): a worker that
  // sends that same result again (its first answer was lost) is answered OK instead of 409.
  std::string ended_by;

  std::string key() const { return environment + "." + id; }
  bool finished() const { return status == RunStatus::kCompleted || status == RunStatus::kFailed; }
};

struct StoredRun {
  RunRecord run;
  uint64_t revision = 0;
};

std::string EncodeRun(const RunRecord& r);  // the stored form, delivery included
Result<RunRecord> DecodeRun(std::string_view text);
// The form the API shows: the stored form without the delivery bookkeeping (lease tokens stay server-side).
std::string PublicRunJson(const RunRecord& r);

class RunStore {
 public:
  // `unfinished`: this process's mirror of unfinished runs (RunStore::StartUnfinishedMirror), kept current with
  // this process's own writes; nullptr to read the bucket only.
  RunStore(KvBucket& bucket, KvMirror* unfinished) : bucket_(bucket), unfinished_(unfinished) {}
  // A mirror of the bucket holding only runs with a delivery (queued or running).
  static Result<std::unique_ptr<KvMirror>> StartUnfinishedMirror(KvBucket& bucket);

  Result<StoredRun> Create(const RunRecord& run);
  // Create, in two halves: the message that stores the new record (sent by the caller with others), and the
  // bookkeeping once it is stored at `revision`.
  StreamPublish CreateMessage(const RunRecord& run) const { return bucket_.CreateMessage(run.key(), EncodeRun(run)); }
  // `message` is the one CreateMessage(run) returned (its encoded record is reused).
  void Created(const RunRecord& run, const StreamPublish& message, uint64_t revision) {
    Mirror(run, message.data, revision);
  }
  Result<RunRecord> Get(const std::string& env, const std::string& run_id);
  // Applies `change` to the current record and writes it with compare-and-set, retrying (with a fresh read) on
  // conflicts. `change` returns non-OK to abandon the write; that status is returned. `hint`, when given, is
  // tried first instead of reading the bucket (a mirror entry: if it is stale the CAS fails and a read follows).
  // A run as this process's mirror last saw it (decoded once per revision and shared).
  struct Queued {
    std::shared_ptr<const RunRecord> run;
    uint64_t revision = 0;
  };
  Result<StoredRun> Mutate(const std::string& env, const std::string& run_id,
                           const std::function<Status(RunRecord&)>& change, const Queued* hint = nullptr);
  // Writes each record in `planned` (changed by the caller from the mirror entry at `revision`) with
  // compare-and-set against that revision, all in one round trip. Per record: the stored run at its new
  // revision; kConflict if the record moved on meanwhile; kUnavailable if the outcome is unknown. Callers
  // fall back to Mutate (a fresh read) for the ones that did not land.
  std::vector<Result<StoredRun>> UpdateMany(std::vector<StoredRun> planned);
  // Unfinished runs of `env` ("" for every environment) from the mirror, in order of delivery.not_before_ms.
  std::vector<Queued> Unfinished(const std::string& env);
  // Every unfinished run in the mirror, in no particular order and without copies: the scheduler's walk. `visit`
  // runs with the store's lock held and must not call back into it.
  void ForEachUnfinished(const std::function<void(const RunRecord&)>& visit);
  // One unfinished run from the mirror (a hint: it may lag other servers' writes).
  std::optional<Queued> FindUnfinished(const std::string& env, const std::string& run_id);
  // Newest first. Empty filters match everything.
  Result<std::vector<RunRecord>> List(const std::string& env, const std::string& function_id,
                                      std::optional<RunStatus> status, size_t limit);

 private:
  // Records this process's own write of `run` (encoded as `value`) in the mirror and the decoded cache.
  void Mirror(const RunRecord& run, const std::string& value, uint64_t revision);
  // The decoded form of a mirror entry (cached by key and revision); decoded_mu_ held.
  std::optional<Queued> DecodeLocked(const KvEntry& entry);
  KvBucket& bucket_;
  KvMirror* unfinished_;
  std::mutex decoded_mu_;
  RevisionCache<std::shared_ptr<const RunRecord>> decoded_;  // mirror entries decoded, by key and revision
};

}  // namespace ironflow::server
