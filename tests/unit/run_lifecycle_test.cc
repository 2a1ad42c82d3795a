// The run/attempt state machine without a server: each transition the engine writes in one compare-and-set, and
// the checks that refuse a transition when the record moved on (another worker or server got there first).
#include "runtime/run_lifecycle.h"

#include <gtest/gtest.h>

#include "runtime/ids.h"

namespace ironflow::server {
namespace {

constexpr int64_t kNow = 1'000'000;

RunRecord QueuedRun(DeliveryMode mode = DeliveryMode::kPull) {
  RunRecord r;
  r.id = "run_0123456789abcdef01234567";
  r.function_id = "payout";
  r.environment = "production";
  r.delivery = PendingDelivery(r.id, 1, mode, kNow);
  return r;
}

LeaseGrant GrantFor(const RunRecord& r, const std::string& lease_id = "lease_a") {
  LeaseGrant g;
  g.attempt = r.delivery.attempt;
  g.lease_id = lease_id;
  g.worker_id = "w1";
  g.now_ms = kNow + 10;
  g.lease_ms = 30'000;
  g.resolved = {{"STRIPE_KEY", 7}};
  g.job_seq = 42;
  return g;
}

JobResult Failed(bool retryable = true) {
  JobResult f;
  f.error = "card declined";
  f.retryable = retryable;
  return f;
}

RetryPolicy Policy(int max_attempts) {
  RetryPolicy p;
  p.max_attempts = max_attempts;
  p.initial_delay_ms = 1000;
  p.backoff_factor = 2.0;
  return p;
}

RunRecord Leased(RunRecord r) {
  EXPECT_TRUE(ApplyLease(GrantFor(r), r).ok());
  return r;
}

TEST(RunLifecycleTest, NewRunIsQueuedWithItsFirstAttemptPending) {
  RunRecord r = QueuedRun();
  EXPECT_EQ(r.status, RunStatus::kQueued);
  EXPECT_EQ(r.delivery.state, DeliveryState::kPending);
  EXPECT_EQ(r.delivery.attempt, 1);
  EXPECT_EQ(r.delivery.job_id, JobIdFor(r.id, 1));
  EXPECT_TRUE(ReadyForPull(r.delivery, kNow));
  EXPECT_FALSE(ReadyForPull(r.delivery, kNow - 1)) << "an attempt is not offered before its not_before";
  EXPECT_FALSE(DueForPush(r.delivery, kNow)) << "a pull attempt is never pushed";
  EXPECT_TRUE(DueForPush(QueuedRun(DeliveryMode::kPush).delivery, kNow));
}

TEST(RunLifecycleTest, LeaseMakesTheRunRunningAndRecordsWhoHoldsItUntilWhen) {
  RunRecord r = QueuedRun();
  ASSERT_TRUE(ApplyLease(GrantFor(r), r).ok());
  EXPECT_EQ(r.status, RunStatus::kRunning);
  EXPECT_EQ(r.attempt, 1);
  EXPECT_EQ(r.delivery.state, DeliveryState::kLeased);
  EXPECT_EQ(r.delivery.lease_token, "lease_a");
  EXPECT_EQ(r.delivery.worker_id, "w1");
  EXPECT_EQ(r.delivery.lease_expires_ms, kNow + 10 + 30'000);
  EXPECT_EQ(r.delivery.resolved.at("STRIPE_KEY"), 7u);
  EXPECT_EQ(r.delivery.job_seq, 42u);
  EXPECT_FALSE(ReadyForPull(r.delivery, kNow + 60'000)) << "a leased attempt is not offered to another worker";
}

TEST(RunLifecycleTest, SecondLeaseOfTheSameAttemptIsRefusedAndChangesNothing) {
  RunRecord r = Leased(QueuedRun());
  const std::string before = EncodeRun(r);
  Status second = ApplyLease(GrantFor(r, "lease_b"), r);
  EXPECT_TRUE(second.is(Code::kConflict)) << second.ToString();
  EXPECT_EQ(EncodeRun(r), before);
}

TEST(RunLifecycleTest, LeasePlannedForAnOlderAttemptIsRefused) {
  RunRecord r = QueuedRun();
  LeaseGrant stale = GrantFor(r);
  r = Leased(r);
  (void)ApplyOutcome(Failed(), "", Policy(3), kNow, r);  // attempt 1 failed: attempt 2 pending
  ASSERT_EQ(r.delivery.attempt, 2);
  EXPECT_TRUE(ApplyLease(stale, r).is(Code::kConflict));
  EXPECT_EQ(r.delivery.state, DeliveryState::kPending);
}

TEST(RunLifecycleTest, CompletedAttemptFinishesTheRunAndEndsItsDelivery) {
  RunRecord r = Leased(QueuedRun());
  r.error = "from an earlier attempt";
  JobResult ok;
  ok.completed = true;
  ok.output_json = R"({"paid":true})";
  AttemptEnd end = ApplyOutcome(ok, "lease_a:digest", Policy(3), kNow, r);
  EXPECT_EQ(r.status, RunStatus::kCompleted);
  EXPECT_TRUE(r.finished());
  EXPECT_EQ(r.output_json, R"({"paid":true})");
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(r.delivery.state, DeliveryState::kNone);
  EXPECT_EQ(r.ended_by, "lease_a:digest");
  EXPECT_EQ(end.attempt, 1);
  EXPECT_EQ(end.ended_lease, "lease_a");
  EXPECT_EQ(end.retry_delay_ms, 0);
}

TEST(RunLifecycleTest, RetryableFailureQueuesTheNextAttemptAfterItsBackoff) {
  RunRecord r = Leased(QueuedRun());
  AttemptEnd end = ApplyOutcome(Failed(), "", Policy(3), kNow, r);
  EXPECT_EQ(r.status, RunStatus::kQueued);
  EXPECT_EQ(r.error, "card declined");
  EXPECT_EQ(r.delivery.state, DeliveryState::kPending);
  EXPECT_EQ(r.delivery.attempt, 2);
  EXPECT_EQ(r.delivery.job_id, JobIdFor(r.id, 2));
  EXPECT_EQ(r.delivery.mode, DeliveryMode::kPull);
  EXPECT_TRUE(r.delivery.lease_token.empty()) << "the failed attempt's lease must not carry over";
  EXPECT_EQ(end.retry_delay_ms, 1000);
  EXPECT_EQ(r.delivery.not_before_ms, kNow + 1000);
  EXPECT_FALSE(ReadyForPull(r.delivery, kNow + 999));
  EXPECT_TRUE(ReadyForPull(r.delivery, kNow + 1000));

  // The second failure waits twice as long.
  r = Leased(r);
  end = ApplyOutcome(Failed(), "", Policy(3), kNow, r);
  EXPECT_EQ(r.delivery.attempt, 3);
  EXPECT_EQ(end.retry_delay_ms, 2000);
}

TEST(RunLifecycleTest, FailureOfTheLastAttemptFailsTheRun) {
  RunRecord r = QueuedRun();
  for (int attempt = 1; attempt <= 2; ++attempt) {
    r = Leased(r);
    (void)ApplyOutcome(Failed(), "", Policy(2), kNow, r);
  }
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_EQ(r.attempt, 2);
  EXPECT_EQ(r.error, "card declined");
  EXPECT_EQ(r.delivery.state, DeliveryState::kNone);
}

TEST(RunLifecycleTest, NonRetryableFailureFailsTheRunWithAttemptsLeft) {
  RunRecord r = Leased(QueuedRun());
  (void)ApplyOutcome(Failed(/*retryable=*/false), "", Policy(5), kNow, r);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_EQ(r.attempt, 1);
}

TEST(RunLifecycleTest, MemoizedStepsAreKeptOnceByIdAcrossAttempts) {
  RunRecord r = Leased(QueuedRun());
  JobResult first = Failed();
  first.steps = {{"charge", R"({"id":"ch_1"})"}};
  (void)ApplyOutcome(first, "", Policy(3), kNow, r);
  r = Leased(r);
  JobResult second;
  second.completed = true;
  second.steps = {{"charge", R"({"id":"ch_2"})"}, {"email", "true"}};
  (void)ApplyOutcome(second, "", Policy(3), kNow, r);
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0].id, "charge");
  EXPECT_EQ(r.steps[0].output_json, R"({"id":"ch_1"})") << "a step already kept is not replaced by a later attempt";
  EXPECT_EQ(r.steps[1].id, "email");
}

TEST(RunLifecycleTest, LeaseChecksFollowTheCurrentAttempt) {
  RunRecord r = QueuedRun();
  EXPECT_TRUE(StillPending(r, 1).ok());
  EXPECT_TRUE(StillLeasedAs(r, "lease_a").is(Code::kConflict));
  r = Leased(r);
  EXPECT_TRUE(StillPending(r, 1).is(Code::kConflict));
  EXPECT_TRUE(StillLeasedAs(r, "lease_a").ok());
  EXPECT_TRUE(StillLeasedAs(r, "lease_b").is(Code::kConflict));
  (void)ApplyOutcome(Failed(), "", Policy(3), kNow, r);
  EXPECT_TRUE(StillLeasedAs(r, "lease_a").is(Code::kConflict)) << "a result for an ended attempt must be refused";
  EXPECT_TRUE(StillPending(r, 1).is(Code::kConflict));
  EXPECT_TRUE(StillPending(r, 2).ok());
}

TEST(RunLifecycleTest, RunRecordedBeforeTheJobStreamIsOfferedAgainAndAnEndedOneIsLeftAlone) {
  RunRecord r = Leased(QueuedRun());
  r.delivery.queue.clear();
  ASSERT_TRUE(MoveToJobStream(kNow + 5, r).ok());
  EXPECT_EQ(r.delivery.queue, kJobsQueue);
  EXPECT_EQ(r.status, RunStatus::kQueued);
  EXPECT_EQ(r.delivery.state, DeliveryState::kPending);
  EXPECT_TRUE(r.delivery.lease_token.empty()) << "the old worker's lease must not stay valid";
  EXPECT_EQ(r.delivery.not_before_ms, kNow + 5);

  RunRecord done = Leased(QueuedRun());
  JobResult ok;
  ok.completed = true;
  (void)ApplyOutcome(ok, "", Policy(3), kNow, done);
  EXPECT_TRUE(MoveToJobStream(kNow, done).is(Code::kConflict));
  EXPECT_EQ(done.status, RunStatus::kCompleted);
}

TEST(RunLifecycleTest, StateNamesRoundTripAndUnknownNamesAreRejected) {
  for (RunStatus s : {RunStatus::kQueued, RunStatus::kRunning, RunStatus::kCompleted, RunStatus::kFailed}) {
    EXPECT_EQ(ParseRunStatus(RunStatusName(s)), s);
  }
  for (DeliveryState s : {DeliveryState::kNone, DeliveryState::kPending, DeliveryState::kLeased}) {
    EXPECT_EQ(ParseDeliveryState(DeliveryStateName(s)), s);
  }
  EXPECT_EQ(ParseDeliveryMode("push"), DeliveryMode::kPush);
  EXPECT_EQ(ParseDeliveryMode("pull"), DeliveryMode::kPull);
  EXPECT_FALSE(ParseRunStatus("Queued"));
  EXPECT_FALSE(ParseRunStatus(""));
  EXPECT_FALSE(ParseDeliveryMode("poll"));
  EXPECT_FALSE(ParseDeliveryState("expired"));
}

}  // namespace
}  // namespace ironflow::server
