// Run records and job ids: the stored form keeps the attempt's delivery bookkeeping, the public form never
// shows it, and a job id always leads back to its run and attempt.
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "runtime/ids.h"
#include "runtime/run_store.h"

namespace ironflow::server {
namespace {

RunRecord LeasedRun() {
  RunRecord r;
  r.id = NewId("run_");
  r.function_id = "payout";
  r.environment = "production";
  r.event_id = "evt_1";
  r.event_name = "payout.requested";
  r.event_data_json = R"({"amount":5})";
  r.event_timestamp = "2026-12-01T00:00:00Z";
  r.status = RunStatus::kRunning;
  r.attempt = 2;
  r.created_at = r.updated_at = "2026-12-01T00:00:00Z";
  r.delivery.job_id = JobIdFor(r.id, 2);
  r.delivery.mode = DeliveryMode::kPull;
  r.delivery.attempt = 2;
  r.delivery.state = DeliveryState::kLeased;
  r.delivery.lease_token = "lease_0123456789abcdef01234567";
  r.delivery.worker_id = "w1";
  r.delivery.leased_at_ms = 1000;
  r.delivery.lease_expires_ms = 31000;
  r.delivery.resolved = {{"STRIPE_KEY", 7}};
  r.delivery.queue = "jobs";
  r.delivery.job_seq = 4242;
  return r;
}

TEST(RunRecordTest, StoredFormRoundTripsTheDeliveryOfAnUnfinishedRun) {
  RunRecord r = LeasedRun();
  auto back = DecodeRun(EncodeRun(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->delivery.job_id, r.delivery.job_id);
  EXPECT_EQ(back->delivery.state, DeliveryState::kLeased);
  EXPECT_EQ(back->delivery.lease_token, r.delivery.lease_token);
  EXPECT_EQ(back->delivery.lease_expires_ms, 31000);
  EXPECT_EQ(back->delivery.resolved.at("STRIPE_KEY"), 7u);
  // Which job message the lease came from, and that the run has one (a redelivery is told from a duplicate by it).
  EXPECT_EQ(back->delivery.queue, "jobs");
  EXPECT_EQ(back->delivery.job_seq, 4242u);
  EXPECT_EQ(back->event_data_json, R"({"amount":5})");
}

TEST(RunRecordTest, FinishedRunHasNoDeliveryAndPublicFormNeverShowsTheLease) {
  RunRecord r = LeasedRun();
  std::string pub = PublicRunJson(r);
  EXPECT_EQ(pub.find("delivery"), std::string::npos) << pub;
  EXPECT_EQ(pub.find(r.delivery.lease_token), std::string::npos) << pub;
  r.status = RunStatus::kCompleted;
  r.delivery = Delivery{};
  auto back = DecodeRun(EncodeRun(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->delivery.state, DeliveryState::kNone);
  EXPECT_EQ(EncodeRun(r).find("delivery"), std::string::npos);
}

TEST(RunRecordTest, StoredRecordWithAnUnknownStateNameIsMalformed) {
  for (const auto& [from, to] :
       std::vector<std::pair<std::string, std::string>>{{R"("status":"running")", R"("status":"RUNNING")"},
                                                        {R"("state":"leased")", R"("state":"expired")"},
                                                        {R"("mode":"pull")", R"("mode":"poll")"}}) {
    std::string text = EncodeRun(LeasedRun());
    const size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from << " in " << text;
    text.replace(at, from.size(), to);
    auto back = DecodeRun(text);
    EXPECT_TRUE(back.status().is(Code::kInternal)) << to;
  }
}

TEST(RunRecordTest, JobIdLeadsBackToItsRunAndAttempt) {
  std::string run_id = NewId("run_");
  std::string job_id = JobIdFor(run_id, 12);
  std::string parsed_run;
  int attempt = 0;
  ASSERT_TRUE(ParseJobId(job_id, &parsed_run, &attempt)) << job_id;
  EXPECT_EQ(parsed_run, run_id);
  EXPECT_EQ(attempt, 12);
  EXPECT_NE(JobIdFor(run_id, 1), JobIdFor(run_id, 2)) << "two attempts of a run share a job id";
}

TEST(RunRecordTest, JobIdsOfAnyOtherShapeAreRejected) {
  for (const char* bad : {"", "job_", "job__1", "job_abc", "job_abc_", "job_abc_0", "job_abc_-1", "job_abc_1x",
                          "job_ABC_1", "run_abc_1", "job_ab.c_1", "job_abc_99999999999999999999"}) {
    std::string run_id;
    int attempt = 0;
    EXPECT_FALSE(ParseJobId(bad, &run_id, &attempt)) << bad;
  }
}

}  // namespace
}  // namespace ironflow::server
