// KvBucket against a real nats-server: the conditional writes every plane relies on.
#include "store/kv_bucket.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>

#include "store/kv_mirror.h"
#include "store/kv_watch.h"
#include "support/nats_fixture.h"
#include "support/raw_http.h"

namespace ironflow::server {
namespace {

class KvBucketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nc_ = nats_.Connect();
    ASSERT_NE(nc_, nullptr);
    auto b = KvBucket::OpenOrCreate(*nc_, {"test-bucket", "test", 5, 1, -1});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    bucket_ = std::move(b).value();
  }
  testing::NatsFixture nats_;
  std::unique_ptr<NatsConnection> nc_;
  std::unique_ptr<KvBucket> bucket_;
};

TEST_F(KvBucketTest, MirrorHoldsEntriesItsKeepRejectsAsDeletionsThatOlderRevisionsCannotUndo) {
  // The run queue's mirror keeps unfinished runs only: a finished run leaves it, and a late delivery of its
  // earlier (unfinished) revision must not bring it back.
  auto mirror = KvMirror::Start(*bucket_, [](const KvEntry& e) { return e.value != "done"; });
  ASSERT_TRUE(mirror.ok()) << mirror.status().ToString();
  (*mirror)->Apply({"a.run", "pending", 10, 0}, false);
  ASSERT_TRUE((*mirror)->Get("a.run").has_value());
  (*mirror)->Apply({"a.run", "done", 11, 0}, false);
  EXPECT_FALSE((*mirror)->Get("a.run").has_value()) << "an entry keep() rejects stayed in the mirror";
  (*mirror)->Apply({"a.run", "leased", 10, 0}, false);
  EXPECT_FALSE((*mirror)->Get("a.run").has_value()) << "an older revision resurrected a dropped entry";
  (*mirror)->Apply({"a.run", "pending", 12, 0}, false);
  EXPECT_EQ((*mirror)->Get("a.run")->value, "pending");
  EXPECT_EQ((*mirror)->Snapshot("a.").size(), 1u);
}

TEST_F(KvBucketTest, MirrorJudgesEachRevisionOnceAndAWriterThatKnowsTheVerdictSkipsTheJudge) {
  // The run mirror's keep() decodes a whole run record: the watch echoing this process's own write, and the
  // write it made itself, must not pay for it again.
  std::atomic<int> judged{0};
  auto mirror = KvMirror::Start(*bucket_, [&judged](const KvEntry& e) {
    judged.fetch_add(1);
    return e.value != "done";
  });
  ASSERT_TRUE(mirror.ok()) << mirror.status().ToString();
  (*mirror)->ApplyKnown({"a.run", "pending", 10, 0}, true);
  EXPECT_EQ(judged.load(), 0) << "a write whose verdict was given was judged";
  ASSERT_TRUE((*mirror)->Get("a.run").has_value());
  (*mirror)->Apply({"a.run", "pending", 10, 0}, false);  // the watch echoing that write
  EXPECT_EQ(judged.load(), 0) << "a revision already held was judged again";
  (*mirror)->Apply({"a.run", "done", 11, 0}, false);
  EXPECT_EQ(judged.load(), 1);
  EXPECT_FALSE((*mirror)->Get("a.run").has_value());
  (*mirror)->Apply({"a.run", "pending", 11, 0}, false);  // a replay of the revision that removed it
  EXPECT_EQ(judged.load(), 1) << "a revision already recorded as removed was judged again";
  EXPECT_FALSE((*mirror)->Get("a.run").has_value());
  (*mirror)->ApplyKnown({"a.run", "done", 12, 0}, false);
  EXPECT_FALSE((*mirror)->Get("a.run").has_value()) << "a put given as not kept stayed in the mirror";
}

TEST_F(KvBucketTest, CreateOfExistingKeyConflictsAndKeepsValue) {
  ASSERT_TRUE(bucket_->Create("a.k", "one").ok());
  auto again = bucket_->Create("a.k", "two");
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.status().is(Code::kConflict));
  EXPECT_EQ((*bucket_->Get("a.k"))->value, "one");
}

TEST_F(KvBucketTest, UpdateAtStaleRevisionConflictsAndKeepsValue) {
  auto r1 = bucket_->Create("a.k", "one");
  ASSERT_TRUE(r1.ok());
  auto r2 = bucket_->Update("a.k", "two", *r1);
  ASSERT_TRUE(r2.ok());
  EXPECT_GT(*r2, *r1);
  auto stale = bucket_->Update("a.k", "three", *r1);
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(stale.status().is(Code::kConflict));
  EXPECT_EQ((*bucket_->Get("a.k"))->value, "two");
}

TEST_F(KvBucketTest, TaggedWriteSentAgainAgainstTheSameRevisionIsStoredOnceAndAnswersItsRevision) {
  // A retried request that read the same revision as its earlier attempt sends the same step again; it lands
  // once (nats-server's de-duplication, which also holds on R3 where the revision check alone may not: #4320).
  auto r1 = bucket_->Create("a.k", "0");
  ASSERT_TRUE(r1.ok());
  auto first = bucket_->Update("a.k", "1", *r1, "request-1");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto again = bucket_->Update("a.k", "1", *r1, "request-1");
  ASSERT_TRUE(again.ok()) << "the same step sent again was refused: " << again.status().ToString();
  EXPECT_EQ(*again, *first) << "the step sent again must answer the revision of the write that landed";
  auto history = bucket_->History("a.k");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 2u) << "the step was stored twice";
  // Another request (another tag) at that stale revision is still refused. The same request refused on another
  // revision while its own write is the key's latest answers that write: a copy of it landed (nats.c may send a
  // write again after a reconnect, and the refusal of the second copy must not hide the first).
  EXPECT_TRUE(bucket_->Update("a.k", "1", *r1, "request-2").status().is(Code::kConflict));
  auto refused_copy = bucket_->Update("a.k", "1", *r1 + 7, "request-1");
  ASSERT_TRUE(refused_copy.ok()) << refused_copy.status().ToString();
  EXPECT_EQ(*refused_copy, *first);
  // The same tag on another key is another step.
  ASSERT_TRUE(bucket_->Create("a.other", "0").ok());
  auto other = bucket_->Update("a.other", "1", (*bucket_->LastWrite("a.other"))->revision, "request-1");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_NE(*other, *first);
}

TEST_F(KvBucketTest, WriteWithNoAnswerAfterARefusalOnTheSameThreadIsUnavailableNotAConflict) {
  // nats.c keeps a thread's last error text across a timeout that sets none. A write whose answer never came (it
  // may still land) read as "refused" made a retried counter increment count twice.
  auto r1 = bucket_->Create("a.k", "one");
  ASSERT_TRUE(r1.ok());
  ASSERT_TRUE(bucket_->Update("a.k", "two", *r1).ok());
  ASSERT_TRUE(bucket_->Update("a.k", "stale", *r1).status().is(Code::kConflict));  // a refusal on this thread
  nats_.Stop();                                                                    // the next write gets no answer
  auto unknown = bucket_->Update("a.k", "three", *r1 + 1);
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(unknown.status().is(Code::kUnavailable)) << unknown.status().ToString();
  auto create = bucket_->Create("a.new", "x");
  ASSERT_FALSE(create.ok());
  EXPECT_TRUE(create.status().is(Code::kUnavailable)) << create.status().ToString();
}

TEST_F(KvBucketTest, BatchedCompareAndSetLandsEachCurrentWriteAndRefusesOnlyTheStaleOne) {
  // A poll leases several runs in one round trip: each write is decided on its own revision.
  auto a = bucket_->Create("a.one", "a1");
  auto b = bucket_->Create("a.two", "b1");
  ASSERT_TRUE(a.ok() && b.ok());
  auto b2 = bucket_->Update("a.two", "b2", *b);  // the batch below was planned from b's revision 1: now stale
  ASSERT_TRUE(b2.ok());
  auto answers =
      nc_->PublishEachOnce({bucket_->UpdateMessage("a.one", "a2", *a), bucket_->UpdateMessage("a.two", "b3", *b)});
  ASSERT_EQ(answers.size(), 2u);
  ASSERT_TRUE(answers[0].ok()) << answers[0].status().ToString();
  EXPECT_GT(*answers[0], *b2) << "the new revision is the stream sequence of the write";
  ASSERT_FALSE(answers[1].ok());
  EXPECT_TRUE(answers[1].status().is(Code::kConflict)) << answers[1].status().ToString();
  EXPECT_EQ((*bucket_->Get("a.one"))->value, "a2");
  EXPECT_EQ((*bucket_->Get("a.one"))->revision, *answers[0]);
  EXPECT_EQ((*bucket_->Get("a.two"))->value, "b2") << "a stale write changed the value";
}

TEST_F(KvBucketTest, DeleteIfRevisionOnlyDeletesAtThatRevision) {
  auto r1 = bucket_->Create("a.k", "one");
  auto r2 = bucket_->Update("a.k", "two", *r1);
  auto stale = bucket_->DeleteIfRevision("a.k", *r1);
  EXPECT_TRUE(stale.status().is(Code::kConflict));
  EXPECT_TRUE(bucket_->Get("a.k")->has_value());
  auto del = bucket_->DeleteIfRevision("a.k", *r2);
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_GT(*del, *r2);
  EXPECT_FALSE(bucket_->Get("a.k")->has_value());
}

TEST_F(KvBucketTest, CreateSucceedsAgainAfterDelete) {
  auto r1 = bucket_->Create("a.k", "one");
  ASSERT_TRUE(bucket_->DeleteIfRevision("a.k", *r1).ok());
  auto r2 = bucket_->Create("a.k", "again");
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ((*bucket_->Get("a.k"))->value, "again");
}

TEST_F(KvBucketTest, ListReturnsOnlyLiveKeysMatchingTheFilter) {
  ASSERT_TRUE(bucket_->Create("prod.A", "1").ok());
  auto b = bucket_->Create("prod.B", "2");
  ASSERT_TRUE(bucket_->Create("staging.A", "3").ok());
  ASSERT_TRUE(bucket_->DeleteIfRevision("prod.B", *b).ok());
  auto list = bucket_->List("prod.*");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].key, "prod.A");
  auto empty = bucket_->List("nothing.*");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(KvBucketTest, DropOldRevisionsKeepsOnlyTheLatest) {
  auto r1 = bucket_->Create("a.k", "old-plain");
  auto r2 = bucket_->Update("a.k", "new", *r1);
  ASSERT_TRUE(r2.ok());
  ASSERT_TRUE(bucket_->DropOldRevisions("a.k").ok());
  EXPECT_EQ((*bucket_->Get("a.k"))->value, "new");
  auto old = bucket_->GetRevision("a.k", *r1);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_FALSE(old->has_value()) << "the old revision is still readable";
  auto latest = bucket_->GetRevision("a.k", *r2);
  ASSERT_TRUE(latest.ok());
  EXPECT_TRUE(latest->has_value());
}

}  // namespace
}  // namespace ironflow::server

namespace ironflow::server {
namespace {

TEST(KvBucketEmptyTest, ListOfANeverWrittenBucketIsEmptyNotAnError) {
  testing::NatsFixture nats;
  auto nc = nats.Connect();
  auto bucket = KvBucket::OpenOrCreate(*nc, {"empty-bucket", "", 1, 1, -1});
  ASSERT_TRUE(bucket.ok());
  auto start = std::chrono::steady_clock::now();
  auto list = (*bucket)->List(">");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_TRUE(list->empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2))
      << "listing an empty bucket waited for a timeout";
}

}  // namespace
}  // namespace ironflow::server

// --- KvWatch ----------------------------------------------------------------------------------------------------

namespace ironflow::server {
namespace {

// Collects what a watch delivers; waits with a deadline, never with a sleep.
class WatchLog {
 public:
  KvWatch::Callback callback() {
    return [this](const KvEntry& e, bool deleted) {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(e.key + (deleted ? "=<deleted>" : "=" + e.value) + (caught_up_ ? "" : " (replay)"));
      cv_.notify_all();
    };
  }
  std::function<void()> on_caught_up() {
    return [this] {
      std::lock_guard<std::mutex> lock(mu_);
      caught_up_ = true;
      seen_.push_back("caught up");
      cv_.notify_all();
    };
  }
  // A watch of `filter` that records into this log, caught-up signal included.
  Result<std::unique_ptr<KvWatch>> Watch(KvBucket& bucket, const std::string& filter) {
    KvWatch::Options options;
    options.filter = filter;
    options.on_caught_up = on_caught_up();
    return KvWatch::Start(bucket, callback(), options);
  }
  // The lines delivered, once there are at least `n` (or whatever arrived within 10 s).
  std::vector<std::string> WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return seen_.size() >= n; });
    return seen_;
  }
  // The lines delivered, once `line` is among them (or whatever arrived within 10 s).
  std::vector<std::string> WaitForLine(const std::string& line) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10),
                 [&] { return std::find(seen_.begin(), seen_.end(), line) != seen_.end(); });
    return seen_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool caught_up_ = false;
  std::vector<std::string> seen_;
};

TEST_F(KvBucketTest, WatchReplaysTheLatestEntryOfEachKeyThenSaysCaughtUpThenFollowsChangesInOrder) {
  ASSERT_TRUE(bucket_->Put("a.x", "1").ok());
  ASSERT_TRUE(bucket_->Put("a.x", "2").ok());
  ASSERT_TRUE(bucket_->Put("a.y", "1").ok());
  ASSERT_TRUE(bucket_->DeleteLatest("a.y").ok());
  ASSERT_TRUE(bucket_->Put("b.other", "not watched").ok());
  WatchLog log;
  auto watch = log.Watch(*bucket_, "a.*");
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  EXPECT_EQ(log.WaitFor(3), (std::vector<std::string>{"a.x=2 (replay)", "a.y=<deleted> (replay)", "caught up"}));
  ASSERT_TRUE(bucket_->Put("a.z", "3").ok());
  ASSERT_TRUE(bucket_->Put("b.other", "still not watched").ok());
  ASSERT_TRUE(bucket_->DeleteLatest("a.x").ok());
  EXPECT_EQ(log.WaitFor(5), (std::vector<std::string>{"a.x=2 (replay)", "a.y=<deleted> (replay)", "caught up", "a.z=3",
                                                      "a.x=<deleted>"}));
}

TEST_F(KvBucketTest, WatchOfKeysThatNeverExistedIsCaughtUpAtOnceAndSeesTheirCreation) {
  WatchLog log;
  auto watch = log.Watch(*bucket_, "nothing.*");
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  EXPECT_EQ(log.WaitFor(1), std::vector<std::string>{"caught up"});
  ASSERT_TRUE(bucket_->Put("nothing.now", "here").ok());
  EXPECT_EQ(log.WaitFor(2), (std::vector<std::string>{"caught up", "nothing.now=here"}));
}

TEST_F(KvBucketTest, WatchWhoseSubscriptionNatsGaveUpSubscribesAgainAndSeesLaterChanges) {
  // nats.c unsubscribes an ordered consumer whose reset failed (a node died mid-reset): the sealed-secret cache and
  // the mirrors would then go stale without a word. The watch makes a new subscription, replaying current values.
  ASSERT_TRUE(bucket_->Put("a.k", "1").ok());
  WatchLog log;
  auto watch = log.Watch(*bucket_, "a.*");
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  ASSERT_EQ(log.WaitFor(2), (std::vector<std::string>{"a.k=1 (replay)", "caught up"}));
  (*watch)->SimulateLostSubscriptionForTest();
  ASSERT_TRUE(bucket_->Put("a.k", "2").ok());
  // The new subscription's replay may come before or after the write: either way "a.k=2" arrives.
  auto seen = log.WaitForLine("a.k=2");
  EXPECT_NE(std::find(seen.begin(), seen.end(), "a.k=2"), seen.end())
      << "the watch stayed silent after losing its subscription (" << seen.size() << " lines)";
}

TEST_F(KvBucketTest, HundredOpenWatchesHoldNoThreadOfTheirOwn) {
  // One SSE client per watch: a thread each would let clients exhaust the process.
  // The first few start nats.c's shared delivery pool, which grows to its fixed size as subscriptions arrive.
  WatchLog first;
  std::vector<std::unique_ptr<KvWatch>> warm;
  for (int i = 0; i < 8; ++i) {
    auto w = KvWatch::Start(*bucket_, first.callback());
    ASSERT_TRUE(w.ok());
    warm.push_back(std::move(w).value());
  }
  ASSERT_TRUE(bucket_->Put("a.k", "v0").ok());
  ASSERT_EQ(first.WaitFor(8).size(), 8u);
  const long before = testing::ProcStatusField(::getpid(), "Threads");
  std::vector<std::unique_ptr<WatchLog>> logs;  // declared first: outlives the watches that write into it
  std::vector<std::unique_ptr<KvWatch>> watches;
  for (int i = 0; i < 100; ++i) {
    logs.push_back(std::make_unique<WatchLog>());
    auto w = KvWatch::Start(*bucket_, logs.back()->callback());
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    watches.push_back(std::move(w).value());
  }
  ASSERT_TRUE(bucket_->Put("a.k", "v1").ok());
  for (auto& log : logs) {
    auto seen = log->WaitFor(2);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen.back().rfind("a.k=v1", 0), 0u);
  }
  const long after = testing::ProcStatusField(::getpid(), "Threads");
  EXPECT_LE(after, before + 2) << "100 watches grew the process from " << before << " to " << after << " threads";
}

}  // namespace
}  // namespace ironflow::server
