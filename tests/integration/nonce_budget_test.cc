// The nonce budget against a real nats-server: encryptions per master key are counted across processes in
// blocks (one NATS write per block), ordinals never repeat, and sealing stops at the 2^32 limit for random
// 96-bit nonces. The server reports the count in /api/v1/status.
#include "secrets/nonce_budget.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "crypto/digest.h"
#include "secrets/value_sealer.h"
#include "support/api_fixture.h"
#include "support/nats_fixture.h"

namespace ironflow::server {
namespace {

using nlohmann::json;

class NonceBudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nc_ = nats_.Connect();
    ASSERT_NE(nc_, nullptr);
    auto b = KvBucket::OpenOrCreate(*nc_, {"ironflow-system", "test", 5, 1, -1});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    bucket_ = std::move(b).value();
  }
  uint64_t Stored(const std::string& key_id) {
    auto e = bucket_->Get("nonces." + key_id);
    return e.ok() && e->has_value() ? std::stoull((*e)->value) : 0;
  }
  testing::NatsFixture nats_;
  std::unique_ptr<NatsConnection> nc_;
  std::unique_ptr<KvBucket> bucket_;
};

TEST_F(NonceBudgetTest, CountsAreReservedInBlocksNotWrittenPerEncryption) {
  NonceBudget budget(*bucket_, "k1", 100);
  for (uint64_t i = 0; i < 250; ++i) {
    auto n = budget.Take();
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, i);
  }
  EXPECT_EQ(Stored("k1"), 300u) << "three blocks of 100 cover 250 encryptions";
  auto history = bucket_->History("nonces.k1");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 3u) << "one write per block";
  auto usage = budget.Read();
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->reserved, 300u);
  EXPECT_FALSE(usage->warning);
}

TEST_F(NonceBudgetTest, ProcessesSharingAKeyNeverGetTheSameOrdinal) {
  // Four "processes" (budgets of their own on one NATS) sealing concurrently.
  constexpr int kProcs = 4, kEach = 300;
  std::vector<std::unique_ptr<NonceBudget>> budgets;
  for (int p = 0; p < kProcs; ++p) budgets.push_back(std::make_unique<NonceBudget>(*bucket_, "k2", 16));
  std::vector<std::vector<uint64_t>> got(kProcs);
  std::vector<std::thread> threads;
  for (int p = 0; p < kProcs; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i) {
        auto n = budgets[p]->Take();
        if (n.ok()) got[p].push_back(*n);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<uint64_t> all;
  size_t total = 0;
  for (const auto& g : got) {
    total += g.size();
    all.insert(g.begin(), g.end());
  }
  EXPECT_EQ(total, static_cast<size_t>(kProcs * kEach));
  EXPECT_EQ(all.size(), total) << "an ordinal was handed out twice";
  EXPECT_GE(Stored("k2"), total) << "the stored count must bound the encryptions made";
  EXPECT_LE(Stored("k2"), total + kProcs * 16u);
}

TEST_F(NonceBudgetTest, SealingStopsAtTheLimitAndSealsNothingMore) {
  auto key = MasterKey::FromHex(std::string(64, 'a'));
  ASSERT_TRUE(key.ok());
  // Nearly every nonce of this key is spent already.
  ASSERT_TRUE(bucket_->Put("nonces." + key->key_id(), std::to_string(NonceBudget::kLimit - 2)).ok());
  NonceBudget budget(*bucket_, key->key_id(), 100);
  ValueSealer sealer(std::move(key).value(), std::nullopt, &budget);
  EXPECT_TRUE(sealer.Seal("default", "A", "value-1").ok());
  EXPECT_TRUE(sealer.Seal("default", "B", "value-2").ok());
  auto refused = sealer.Seal("default", "C", "value-3");
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().is(Code::kUnavailable));
  EXPECT_NE(refused.status().message().find("rotate IRONFLOW_MASTER_KEY"), std::string::npos);
  EXPECT_EQ(refused.status().message().find("value-3"), std::string::npos);
  EXPECT_EQ(Stored(budget.Read()->key_id), NonceBudget::kLimit) << "never reserved past the limit";
  EXPECT_TRUE(budget.Read()->warning);
}

class NonceStatusTest : public testing::ApiTest {};

TEST_F(NonceStatusTest, StatusReportsEncryptionsOfTheCurrentKeyAndWarnsPastTheThreshold) {
  auto status = api_->Call("GET", "/api/v1/status");
  ASSERT_EQ(status.status, 200);
  const json nonces = status.body["encryption"]["nonces"];
  ASSERT_TRUE(nonces.is_object()) << status.raw;
  const std::string key_id = status.body["encryption"]["key_id"];
  EXPECT_EQ(nonces["key_id"], key_id);
  EXPECT_EQ(nonces["limit"], NonceBudget::kLimit);
  EXPECT_FALSE(nonces["warning"].get<bool>());
  // The server sealed its signing key at start: that took one block.
  EXPECT_EQ(nonces["used"], NonceBudget::kBlock);

  // Another process spent a lot of the budget meanwhile.
  auto nc = nats_.Connect();
  auto bucket = KvBucket::Open(*nc, "ironflow-system");
  ASSERT_TRUE(bucket.ok());
  auto e = (*bucket)->Get("nonces." + key_id);
  ASSERT_TRUE(e.ok() && e->has_value());
  ASSERT_TRUE((*bucket)->Update("nonces." + key_id, std::to_string(NonceBudget::kWarnAt), (*e)->revision).ok());
  status = api_->Call("GET", "/api/v1/status");
  EXPECT_TRUE(status.body["encryption"]["nonces"]["warning"].get<bool>()) << status.raw;
  EXPECT_EQ(status.body["encryption"]["nonces"]["used"], NonceBudget::kWarnAt);
}

}  // namespace
}  // namespace ironflow::server
