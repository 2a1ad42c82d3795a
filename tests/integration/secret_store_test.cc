// SecretStore in-process against a real nats-server: CAS semantics, isolation, tamper detection, migration.
#include "secrets/secret_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <set>
#include <thread>

#include "crypto/master_key.h"
#include "support/nats_fixture.h"
#include "support/temp_dir.h"

namespace ironflow::server {
namespace {

MasterKey TestKey() { return std::move(MasterKey::FromHex(testing::RandomHex(32)).value()); }

class SecretStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nc_ = nats_.Connect();
    ASSERT_NE(nc_, nullptr);
    auto b = KvBucket::OpenOrCreate(*nc_, {kSecretsBucket, "", 10, 1, -1});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    bucket_ = std::move(b).value();
    auto stream = SystemStream::Ensure(*nc_, 1);
    ASSERT_TRUE(stream.ok());
    events_ = std::make_unique<SystemEvents>(*stream);
    UseSealer(TestKey());
  }

  void UseSealer(std::optional<MasterKey> key) {
    store_.reset();
    sealer_ = std::make_unique<ValueSealer>(std::move(key));
    store_ = std::make_unique<SecretStore>(*bucket_, *sealer_, *events_);
  }

  std::string ResolveOrDie(const std::string& env, const std::string& name) {
    auto v = store_->Resolve(env, name);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? std::string(v->view()) : "";
  }

  testing::NatsFixture nats_;
  std::unique_ptr<NatsConnection> nc_;
  std::unique_ptr<KvBucket> bucket_;
  std::unique_ptr<SystemEvents> events_;
  std::unique_ptr<ValueSealer> sealer_;
  std::unique_ptr<SecretStore> store_;
  Actor actor_{"dev", "test", "test"};
};

TEST_F(SecretStoreTest, TwoWritersOfTheSameRevisionNeverBothWinAndLoseNoUpdate) {
  // Each round both writers read the same revision before either writes (a barrier), so the compare-and-set is
  // contended every round: exactly one write may land, the other must get 412, and no increment is lost.
  ASSERT_TRUE(store_->Create("default", "COUNTER", "0", std::nullopt, actor_).ok());
  constexpr int kRounds = 40;
  std::atomic<int> wins{0}, conflicts{0}, other_errors{0};
  std::barrier read_done(2), write_done(2);
  auto writer = [&] {
    for (int round = 0; round < kRounds; ++round) {
      auto meta = store_->Get("default", "COUNTER");
      auto value = store_->Resolve("default", "COUNTER");
      read_done.arrive_and_wait();
      if (meta.ok() && value.ok()) {
        const int next = std::stoi(std::string(value->view())) + 1;
        auto put = store_->Put("default", "COUNTER", std::to_string(next), std::nullopt, meta->revision, actor_);
        (put.ok() ? wins : put.status().is(Code::kPreconditionFailed) ? conflicts : other_errors)++;
      } else {
        other_errors++;
      }
      write_done.arrive_and_wait();
    }
  };
  std::thread a(writer), b(writer);
  a.join();
  b.join();
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_EQ(wins.load(), kRounds) << "one write per round lands";
  EXPECT_EQ(conflicts.load(), kRounds) << "the other, made on the same revision, is refused";
  EXPECT_EQ(ResolveOrDie("default", "COUNTER"), std::to_string(kRounds));
}

TEST_F(SecretStoreTest, BlindConcurrentPutsAllLandWithDistinctRevisions) {
  std::mutex mu;
  std::set<uint64_t> revisions;
  auto writer = [&](int id) {
    for (int i = 0; i < 30; ++i) {
      auto put = store_->Put("default", "SHARED", "w" + std::to_string(id), std::nullopt, std::nullopt, actor_);
      ASSERT_TRUE(put.ok()) << put.status().ToString();
      std::lock_guard<std::mutex> lock(mu);
      EXPECT_TRUE(revisions.insert(put->metadata.revision).second) << "two writes reported the same revision";
    }
  };
  std::thread a(writer, 1), b(writer, 2);
  a.join();
  b.join();
  EXPECT_EQ(revisions.size(), 60u);
  EXPECT_EQ(store_->Get("default", "SHARED")->revision, *revisions.rbegin());
}

TEST_F(SecretStoreTest, SameNameInTwoEnvironmentsHoldsTwoIndependentValues) {
  ASSERT_TRUE(store_->Create("production", "STRIPE_KEY", "prod-value", std::nullopt, actor_).ok());
  ASSERT_TRUE(store_->Create("staging", "STRIPE_KEY", "staging-value", std::nullopt, actor_).ok());
  EXPECT_EQ(ResolveOrDie("production", "STRIPE_KEY"), "prod-value");
  EXPECT_EQ(ResolveOrDie("staging", "STRIPE_KEY"), "staging-value");
  ASSERT_TRUE(store_->Delete("staging", "STRIPE_KEY", std::nullopt, actor_).ok());
  EXPECT_EQ(ResolveOrDie("production", "STRIPE_KEY"), "prod-value");
  EXPECT_TRUE(store_->Resolve("staging", "STRIPE_KEY").status().is(Code::kNotFound));
}

// Vault's MoveIntegrity, for us: copy the physical KV entry to another name / environment and read it there.
TEST_F(SecretStoreTest, CiphertextMovedToAnotherNameFailsToDecrypt) {
  ASSERT_TRUE(store_->Create("production", "STRIPE_KEY", "sk_live_secret", std::nullopt, actor_).ok());
  ASSERT_TRUE(store_->Create("production", "OTHER", "harmless", std::nullopt, actor_).ok());
  auto raw = bucket_->Get("production.STRIPE_KEY");
  ASSERT_TRUE(raw.ok() && raw->has_value());
  auto other = bucket_->Get("production.OTHER");
  ASSERT_TRUE(bucket_->Update("production.OTHER", (*raw)->value, (*other)->revision).ok());
  auto moved = store_->Resolve("production", "OTHER");
  ASSERT_FALSE(moved.ok()) << "moved ciphertext decrypted under another name";
  EXPECT_EQ(moved.status().message().find("sk_live_secret"), std::string::npos);
}

TEST_F(SecretStoreTest, CiphertextMovedToAnotherEnvironmentFailsToDecrypt) {
  ASSERT_TRUE(store_->Create("production", "STRIPE_KEY", "sk_live_secret", std::nullopt, actor_).ok());
  auto raw = bucket_->Get("production.STRIPE_KEY");
  ASSERT_TRUE(bucket_->Create("staging.STRIPE_KEY", (*raw)->value).ok());
  EXPECT_FALSE(store_->Resolve("staging", "STRIPE_KEY").ok()) << "moved ciphertext decrypted in another environment";
}

TEST_F(SecretStoreTest, TamperedCiphertextFailsToDecrypt) {
  ASSERT_TRUE(store_->Create("default", "K", "value-123", std::nullopt, actor_).ok());
  auto raw = bucket_->Get("default.K");
  std::string doc = (*raw)->value;
  size_t pos = doc.find("\"ciphertext\":\"") + 14;
  doc[pos] = doc[pos] == 'A' ? 'B' : 'A';
  ASSERT_TRUE(bucket_->Update("default.K", doc, (*raw)->revision).ok());
  EXPECT_FALSE(store_->Resolve("default", "K").ok());
}

TEST_F(SecretStoreTest, PutWithoutDescriptionKeepsTheOldOne) {
  ASSERT_TRUE(store_->Create("default", "K", "v1", std::string("the description"), actor_).ok());
  auto put = store_->Put("default", "K", "v2", std::nullopt, std::nullopt, actor_);
  ASSERT_TRUE(put.ok());
  EXPECT_FALSE(put->created);
  EXPECT_EQ(put->metadata.description, "the description");
  EXPECT_EQ(ResolveOrDie("default", "K"), "v2");
}

TEST_F(SecretStoreTest, DescriptionUpdateKeepsTheSealedValueAndRaisesRevision) {
  auto created = store_->Create("default", "K", "v1", std::nullopt, actor_);
  auto before = bucket_->Get("default.K");
  auto patched = store_->UpdateDescription("default", "K", "new words", std::nullopt, actor_);
  ASSERT_TRUE(patched.ok());
  EXPECT_GT(patched->revision, created->revision);
  EXPECT_EQ(ResolveOrDie("default", "K"), "v1");
  auto after = bucket_->Get("default.K");
  auto ct = [](const std::string& doc) { return doc.substr(doc.find("\"ciphertext\"")); };
  EXPECT_EQ(ct((*before)->value).substr(0, 60), ct((*after)->value).substr(0, 60));
}

TEST_F(SecretStoreTest, DevModeEntriesAreReencryptedWhenAKeyIsSet) {
  UseSealer(std::nullopt);
  ASSERT_TRUE(store_->Create("default", "OLD", "plain-dev-value", std::nullopt, actor_).ok());
  ASSERT_TRUE(store_->Put("default", "OLD", "plain-dev-value-2", std::nullopt, std::nullopt, actor_).ok());
  EXPECT_FALSE(store_->Get("default", "OLD")->encrypted);

  UseSealer(TestKey());
  // Still readable before migration, and marked as not encrypted.
  EXPECT_EQ(ResolveOrDie("default", "OLD"), "plain-dev-value-2");
  auto migrated = store_->EncryptPlaintextEntries();
  ASSERT_TRUE(migrated.ok()) << migrated.status().ToString();
  EXPECT_EQ(*migrated, 1);
  EXPECT_TRUE(store_->Get("default", "OLD")->encrypted);
  EXPECT_EQ(ResolveOrDie("default", "OLD"), "plain-dev-value-2");
  auto raw = bucket_->Get("default.OLD");
  EXPECT_EQ((*raw)->value.find("plain-dev-value"), std::string::npos);
  // The plaintext revisions are dropped from the key's history too.
  for (uint64_t rev = 1; rev < (*raw)->revision; ++rev) {
    auto old = bucket_->GetRevision("default.OLD", rev);
    ASSERT_TRUE(old.ok());
    EXPECT_FALSE(old->has_value()) << "plaintext revision " << rev << " is still in the history";
  }
  EXPECT_EQ(*store_->EncryptPlaintextEntries(), 0);
}

// Two stores on one bucket stand for two server processes: the head one remembers must never win over a
// change the other made.
TEST_F(SecretStoreTest, StaleRememberedHeadNeverLosesAnotherProcessesUpdate) {
  SecretStore other(*bucket_, *sealer_, *events_);
  ASSERT_TRUE(store_->Create("default", "K", "v1", std::string("first"), actor_).ok());
  ASSERT_TRUE(store_->Put("default", "K", "v2", std::nullopt, std::nullopt, actor_).ok());  // store_ remembers
  auto changed = other.UpdateDescription("default", "K", "changed elsewhere", std::nullopt, actor_);
  ASSERT_TRUE(changed.ok());
  auto put = store_->Put("default", "K", "v3", std::nullopt, std::nullopt, actor_);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->metadata.description, "changed elsewhere");
  EXPECT_GT(put->metadata.revision, changed->revision);
  EXPECT_EQ(ResolveOrDie("default", "K"), "v3");
  // A stale If-Match still fails even though store_ remembered that revision once.
  auto stale = store_->Put("default", "K", "v4", std::nullopt, changed->revision, actor_);
  EXPECT_TRUE(stale.status().is(Code::kPreconditionFailed));
  // Deleted elsewhere: a blind put recreates it instead of writing on a dead head.
  ASSERT_TRUE(other.Delete("default", "K", std::nullopt, actor_).ok());
  auto recreated = store_->Put("default", "K", "v5", std::nullopt, std::nullopt, actor_);
  ASSERT_TRUE(recreated.ok()) << recreated.status().ToString();
  EXPECT_TRUE(recreated->created);
}

TEST_F(SecretStoreTest, ValueSealedUnderAnotherKeyIsRefusedNotGarbled) {
  ASSERT_TRUE(store_->Create("default", "K", "value-abc", std::nullopt, actor_).ok());
  UseSealer(TestKey());
  auto r = store_->Resolve("default", "K");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("key id"), std::string::npos);
}

}  // namespace
}  // namespace ironflow::server
