// The decoded caches behind the hot read paths, against a real nats-server: FunctionRegistry and RunStore read
// through their mirrors and decode each stored revision once. What they must never do is serve a revision that
// is no longer current.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "runtime/function_registry.h"
#include "runtime/run_store.h"
#include "store/kv_mirror.h"
#include "support/nats_fixture.h"

namespace ironflow::server {
namespace {

class DecodedCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nc_ = nats_.Connect();
    ASSERT_NE(nc_, nullptr);
    for (const char* name : {"functions", "runs"}) {
      auto b = KvBucket::OpenOrCreate(*nc_, {name, "", 5, 1, -1});
      ASSERT_TRUE(b.ok()) << b.status().ToString();
      buckets_.push_back(std::move(b).value());
    }
  }
  KvBucket& functions_bucket() { return *buckets_[0]; }
  KvBucket& runs_bucket() { return *buckets_[1]; }
  testing::NatsFixture nats_;
  std::unique_ptr<NatsConnection> nc_;
  std::vector<std::unique_ptr<KvBucket>> buckets_;
};

FunctionDef Def(std::vector<std::string> triggers, std::vector<std::string> secrets) {
  FunctionDef f;
  f.id = "charge";
  f.environment = "production";
  f.triggers = std::move(triggers);
  f.secrets = std::move(secrets);
  return f;
}

TEST_F(DecodedCacheTest, ReRegisteredFunctionIsReadAtItsNewDefinitionNotTheCachedOne) {
  auto mirror = KvMirror::Start(functions_bucket());
  ASSERT_TRUE(mirror.ok()) << mirror.status().ToString();
  FunctionRegistry registry(functions_bucket(), mirror->get());
  ASSERT_TRUE(registry.Register(Def({"order.paid"}, {"STRIPE_KEY"})).ok());
  ASSERT_EQ(registry.TriggeredBy("production", "order.paid")->size(), 1u);
  ASSERT_EQ(registry.Get("production", "charge")->secrets, std::vector<std::string>{"STRIPE_KEY"});

  ASSERT_TRUE(registry.Register(Def({"order.refunded"}, {"STRIPE_KEY", "MAIL_KEY"})).ok());
  EXPECT_TRUE(registry.TriggeredBy("production", "order.paid")->empty()) << "the old trigger still fires";
  EXPECT_EQ(registry.TriggeredBy("production", "order.refunded")->size(), 1u);
  EXPECT_EQ(registry.Get("production", "charge")->secrets, (std::vector<std::string>{"STRIPE_KEY", "MAIL_KEY"}));

  // Written by another process: this one learns it from its watch only.
  auto other = functions_bucket().Get("production.charge");
  ASSERT_TRUE(other.ok() && other->has_value());
  FunctionDef changed = Def({"order.shipped"}, {});
  changed.created_at = changed.updated_at = "2026-01-01T00:00:00Z";
  ASSERT_TRUE(functions_bucket().Update("production.charge", EncodeFunctionDef(changed), (*other)->revision).ok());
  for (int i = 0; i < 500 && registry.TriggeredBy("production", "order.shipped")->empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling for the watch, not a fixed wait
  }
  EXPECT_EQ(registry.TriggeredBy("production", "order.shipped")->size(), 1u) << "another process's change unseen";
  EXPECT_TRUE(registry.Get("production", "charge")->secrets.empty());
}

TEST_F(DecodedCacheTest, RunWrittenByThisProcessIsFoundAtItsNewRevisionAndLeavesTheMirrorWhenFinished) {
  auto mirror = RunStore::StartUnfinishedMirror(runs_bucket());
  ASSERT_TRUE(mirror.ok()) << mirror.status().ToString();
  RunStore runs(runs_bucket(), mirror->get());
  RunRecord run;
  run.id = "run_1";
  run.function_id = "charge";
  run.environment = "production";
  run.delivery.state = DeliveryState::kPending;
  auto created = runs.Create(run);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto found = runs.FindUnfinished("production", "run_1");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->revision, created->revision);

  auto leased = runs.Mutate("production", "run_1", [](RunRecord& r) {
    r.delivery.state = DeliveryState::kLeased;
    r.delivery.worker_id = "w1";
    return Status::Ok();
  });
  ASSERT_TRUE(leased.ok()) << leased.status().ToString();
  found = runs.FindUnfinished("production", "run_1");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->revision, leased->revision);
  EXPECT_EQ(found->run->delivery.worker_id, "w1") << "the mirror served the record before this process's write";

  auto done = runs.Mutate("production", "run_1", [](RunRecord& r) {
    r.status = RunStatus::kCompleted;
    r.delivery = Delivery{};
    return Status::Ok();
  });
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_FALSE(runs.FindUnfinished("production", "run_1").has_value()) << "a finished run is still queued";
  EXPECT_TRUE(runs.Unfinished("").empty());
}

}  // namespace
}  // namespace ironflow::server
