// The run/attempt state machine, as pure functions on a RunRecord (no I/O, no clock: the caller passes `now`).
// The engine applies each of them inside one compare-and-set write (RunStore::Mutate), so a transition is all or
// nothing and, among concurrent writers, exactly one wins.
//
//   queued/pending --lease--> running/leased --completed--> completed
//                                  |          --failed, attempts left--> queued/pending (next attempt, backoff)
//                                  |          --failed, none left, or not retryable--> failed
//                                  +--lease lost (recorded as a failed attempt, same rules)
//
// A run that ended has no delivery (DeliveryState::kNone). Steps a function memoized are kept once by id.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"
#include "runtime/function_def.h"
#include "runtime/job_result.h"
#include "runtime/run_store.h"

namespace ironflow::server {

// The queue name recorded in a delivery whose job message is in the job stream.
inline constexpr const char* kJobsQueue = "jobs";

// Attempt `attempt` of a run, pending from `not_before_ms` (the first attempt of a new run, or a retry).
Delivery PendingDelivery(const std::string& run_id, int attempt, DeliveryMode mode, int64_t not_before_ms);

// OK if `attempt` of the run still waits for delivery (nobody leased it, no outcome since), else kConflict.
Status StillPending(const RunRecord& run, int attempt);
// OK if the run's current attempt is still leased under `lease_id`, else kConflict.
Status StillLeasedAs(const RunRecord& run, std::string_view lease_id);
// A pull attempt a worker could lease now.
bool ReadyForPull(const Delivery& delivery, int64_t now_ms);
// A push attempt the server could call now.
bool DueForPush(const Delivery& delivery, int64_t now_ms);

// What a lease writes into the record.
struct LeaseGrant {
  int attempt = 0;  // the attempt being leased (must still be pending)
  std::string lease_id, worker_id;
  int64_t now_ms = 0, lease_ms = 0;
  std::map<std::string, uint64_t> resolved;  // secret name -> revision delivered
  uint64_t job_seq = 0;                      // stream sequence of the job message the lease was taken from
};
// Leases the pending attempt: the run becomes running, its delivery leased to `grant.worker_id` until
// now + lease_ms. kConflict (record unchanged) if that attempt is not pending any more.
Status ApplyLease(const LeaseGrant& grant, RunRecord& run);

// What ApplyOutcome did.
struct AttemptEnd {
  int attempt = 0;             // the attempt that ended
  std::string ended_lease;     // its lease id (empty if it was not leased)
  int64_t retry_delay_ms = 0;  // when queued again: the backoff before the next attempt
};
// Ends the current attempt with `result` (already redacted): completed; or, if it failed, is retryable and
// `policy` leaves attempts, queued again with the next attempt pending after its backoff; else failed.
// `reported_as` is recorded as the run's ended_by. New steps are added, a step already kept stays as it was.
AttemptEnd ApplyOutcome(const JobResult& result, const std::string& reported_as, const RetryPolicy& policy,
                        int64_t now_ms, RunRecord& run);

// For runs recorded before the job stream existed: marks the delivery as in the job stream and offers a leased
// attempt again (its worker's token is not valid any more). kConflict if the run has ended.
Status MoveToJobStream(int64_t now_ms, RunRecord& run);

}  // namespace ironflow::server
