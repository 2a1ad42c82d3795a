#include "runtime/run_lifecycle.h"

#include <algorithm>

#include "runtime/ids.h"

namespace ironflow::server {

Delivery PendingDelivery(const std::string& run_id, int attempt, DeliveryMode mode, int64_t not_before_ms) {
  Delivery d;
  d.job_id = JobIdFor(run_id, attempt);
  d.mode = mode;
  d.attempt = attempt;
  d.state = DeliveryState::kPending;
  d.not_before_ms = not_before_ms;
  d.queue = kJobsQueue;
  return d;
}

Status StillPending(const RunRecord& run, int attempt) {
  return run.delivery.state == DeliveryState::kPending && run.delivery.attempt == attempt
             ? Status::Ok()
             : Status::Conflict("attempt taken meanwhile");
}

Status StillLeasedAs(const RunRecord& run, std::string_view lease_id) {
  return run.delivery.state == DeliveryState::kLeased && run.delivery.lease_token == lease_id
             ? Status::Ok()
             : Status::Conflict("lease moved on");
}

bool ReadyForPull(const Delivery& d, int64_t now_ms) {
  return d.mode == DeliveryMode::kPull && d.state == DeliveryState::kPending && d.not_before_ms <= now_ms;
}

bool DueForPush(const Delivery& d, int64_t now_ms) {
  return d.mode == DeliveryMode::kPush && d.state == DeliveryState::kPending && d.not_before_ms <= now_ms;
}

Status ApplyLease(const LeaseGrant& grant, RunRecord& run) {
  IF_RETURN_IF_ERROR(StillPending(run, grant.attempt));
  run.status = RunStatus::kRunning;
  run.attempt = grant.attempt;
  Delivery& d = run.delivery;
  d.job_id = JobIdFor(run.id, grant.attempt);
  d.state = DeliveryState::kLeased;
  d.lease_token = grant.lease_id;
  d.worker_id = grant.worker_id;
  d.leased_at_ms = grant.now_ms;
  d.lease_expires_ms = grant.now_ms + grant.lease_ms;
  d.resolved = grant.resolved;
  d.queue = kJobsQueue;
  d.job_seq = grant.job_seq;
  return Status::Ok();
}

AttemptEnd ApplyOutcome(const JobResult& result, const std::string& reported_as, const RetryPolicy& policy,
                        int64_t now_ms, RunRecord& run) {
  AttemptEnd end;
  end.attempt = run.delivery.attempt;
  end.ended_lease = run.delivery.lease_token;
  run.ended_by = reported_as;
  run.attempt = end.attempt;
  for (const auto& s : result.steps) {
    auto kept = std::find_if(run.steps.begin(), run.steps.end(), [&](const RunStep& x) { return x.id == s.id; });
    if (kept == run.steps.end()) run.steps.push_back(s);
  }
  if (result.completed) {
    run.status = RunStatus::kCompleted;
    run.output_json = result.output_json;
    run.error.clear();
    run.delivery = Delivery{};
  } else if (result.retryable && end.attempt < policy.max_attempts) {
    run.status = RunStatus::kQueued;
    run.error = result.error;
    end.retry_delay_ms = policy.DelayBefore(end.attempt + 1);
    run.delivery = PendingDelivery(run.id, end.attempt + 1, run.delivery.mode, now_ms + end.retry_delay_ms);
  } else {
    run.status = RunStatus::kFailed;
    run.error = result.error;
    run.delivery = Delivery{};
  }
  return end;
}

Status MoveToJobStream(int64_t now_ms, RunRecord& run) {
  if (run.delivery.state == DeliveryState::kNone) return Status::Conflict("finished");
  run.delivery.queue = kJobsQueue;
  if (run.delivery.state == DeliveryState::kLeased) {
    run.status = RunStatus::kQueued;
    run.delivery.state = DeliveryState::kPending;
    run.delivery.lease_token.clear();
    run.delivery.worker_id.clear();
    run.delivery.not_before_ms = now_ms;
  }
  return Status::Ok();
}

}  // namespace ironflow::server
