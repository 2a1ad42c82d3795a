// Idempotency-Key: a retried write gets its first answer and changes nothing; a key reused for another request is
// refused; and a retry whose first attempt had an unknown outcome (recorded as such, as after a 503) finds out
// whether that attempt's write landed instead of applying it twice. Plus tagged KV writes at the store level.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "api/idempotency.h"
#include "common/hex.h"
#include "common/request_tag.h"
#include "common/time_util.h"
#include "http/request_retry.h"
#include "kv/counter.h"
#include "store/kv_bucket.h"
#include "support/api_fixture.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

class IdempotencyTest : public ApiTest {
 protected:
  static HeaderList Key(const std::string& key) { return {{"Idempotency-Key", key}}; }

  // Rewrites the most recently written Idempotency-Key record as its request's first attempt would have left it
  // after answering 5xx ("unknown") or while still running ("pending"): what a retry sees after a lost answer, or
  // while racing the first attempt.
  void SetLatestRecordState(const std::string& state) {
    auto nc = nats_.Connect();
    auto bucket = KvBucket::Open(*nc, "ironflow-idempotency");
    ASSERT_TRUE(bucket.ok()) << bucket.status().ToString();
    auto entries = (*bucket)->List(">");
    ASSERT_TRUE(entries.ok());
    ASSERT_FALSE(entries->empty());
    const KvEntry* latest = &entries->front();
    for (const auto& e : *entries) latest = e.revision > latest->revision ? &e : latest;
    json record = json::parse(latest->value);
    record["state"] = state;
    record["until_ms"] = int64_t{1} << 50;  // a pending claim that has not run out
    record.erase("status");
    record.erase("body");
    ASSERT_TRUE((*bucket)->Update(latest->key, record.dump(), latest->revision).ok());
  }
};

TEST_F(IdempotencyTest, RetryWithTheSameKeyGetsTheFirstAnswerAndChangesNothing) {
  const std::string value = NewValue();
  auto first = api_->Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", value}}, Key("put-1"));
  ASSERT_EQ(first.status, 201) << first.raw;
  auto again = api_->Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", value}}, Key("put-1"));
  EXPECT_EQ(again.status, 201) << again.raw;
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.header("etag"), first.header("etag"));
  EXPECT_EQ(again.header("idempotent-replayed"), "true");
  auto versions = api_->Call("GET", "/api/v1/secrets/STRIPE_KEY/versions");
  EXPECT_EQ(versions.body["versions"].size(), 1u) << "the replay wrote a second revision";
  EXPECT_NE(api_->Call("GET", "/metrics").raw.find("ironflow_idempotent_replays_total 1"), std::string::npos);
  EXPECT_EQ(again.raw.find(value), std::string::npos);

  // A new key is a new request.
  auto next = api_->Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", value}}, Key("put-2"));
  EXPECT_EQ(next.status, 200) << next.raw;
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/STRIPE_KEY/versions").body["versions"].size(), 2u);
}

TEST_F(IdempotencyTest, SameKeyForAnotherRequestIsRefusedWith422AndChangesNothing) {
  const std::string first_value = NewValue(), other_value = NewValue();
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/A", json{{"value", first_value}}, Key("k1")).status, 201);
  auto reused = api_->Call("PUT", "/api/v1/secrets/A", json{{"value", other_value}}, Key("k1"));
  EXPECT_EQ(reused.status, 422) << reused.raw;
  EXPECT_EQ(reused.body["error"]["code"], "idempotency_key_reused");
  EXPECT_EQ(reused.raw.find(other_value), std::string::npos);
  // Another path, another environment header or another precondition is another request too.
  EXPECT_EQ(api_->Call("PUT", "/api/v1/secrets/B", json{{"value", first_value}}, Key("k1")).status, 422);
  EXPECT_EQ(api_->Call("PUT", "/api/v1/secrets/A", json{{"value", first_value}},
                       {{"Idempotency-Key", "k1"}, {"If-Match", "1"}})
                .status,
            422);
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/A/versions").body["versions"].size(), 1u);
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/B").status, 404);
}

TEST_F(IdempotencyTest, KeysOfOneApiKeyAreNotSeenByAnother) {
  auto created = api_->Call("POST", "/api/v1/apikeys", json{{"name", "second"}, {"role", "admin"}});
  ASSERT_EQ(created.status, 201) << created.raw;
  auto other = ClientFor("default", created.body["key"].get<std::string>());
  ASSERT_EQ(api_->Call("POST", "/api/v1/kv/buckets", json{{"name", "b"}}).status, 201);
  const std::string path = "/api/v1/kv/buckets/b/keys/hits/increment";
  EXPECT_EQ(api_->Call("POST", path, std::string(), Key("same")).body["value"], 1);
  auto theirs = other->Call("POST", path, std::string(), Key("same"));
  EXPECT_EQ(theirs.body["value"], 2) << "another client's key replayed this client's answer";
  EXPECT_TRUE(theirs.header("idempotent-replayed").empty());
}

TEST_F(IdempotencyTest, EventRetriedAfterAnUnknownOutcomeStartsItsRunsOnce) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/functions",
                       json{{"id", "ship"}, {"triggers", {{{"event", "order.paid"}}}}, {"mode", "pull"}})
                .status,
            201);
  auto first = api_->Call("POST", "/api/v1/events", json{{"name", "order.paid"}, {"data", {{"n", 1}}}}, Key("ev-1"));
  ASSERT_EQ(first.status, 202) << first.raw;
  ASSERT_EQ(first.body["run_ids"].size(), 1u);
  SetLatestRecordState("unknown");
  auto retried = api_->Call("POST", "/api/v1/events", json{{"name", "order.paid"}, {"data", {{"n", 1}}}}, Key("ev-1"));
  ASSERT_EQ(retried.status, 202) << retried.raw;
  EXPECT_TRUE(retried.header("idempotent-replayed").empty()) << "the retry must run again, not replay";
  EXPECT_EQ(retried.body["event_id"], first.body["event_id"]);
  EXPECT_EQ(retried.body["run_ids"], first.body["run_ids"]);
  auto runs = api_->Call("GET", "/api/v1/runs?function_id=ship");
  EXPECT_EQ(runs.body["runs"].size(), 1u) << runs.raw;
  // Without a key, the same event is a new one.
  auto plain = api_->Call("POST", "/api/v1/events", json{{"name", "order.paid"}, {"data", {{"n", 1}}}});
  EXPECT_NE(plain.body["event_id"], first.body["event_id"]);
  EXPECT_EQ(api_->Call("GET", "/api/v1/runs?function_id=ship").body["runs"].size(), 2u);
}

TEST_F(IdempotencyTest, CounterIncrementRetriedAfterAnUnknownOutcomeCountsOnce) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/kv/buckets", json{{"name", "b"}}).status, 201);
  const std::string path = "/api/v1/kv/buckets/b/keys/hits/increment";
  ASSERT_EQ(api_->Call("POST", path, json{{"by", 5}}, Key("inc-1")).body["value"], 5);
  SetLatestRecordState("unknown");
  auto retried = api_->Call("POST", path, json{{"by", 5}}, Key("inc-1"));
  ASSERT_EQ(retried.status, 200) << retried.raw;
  EXPECT_EQ(retried.body["value"], 5) << "the landed increment was applied a second time";
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets/b/keys/hits").body["value"], Base64Encode("5"));
}

TEST_F(IdempotencyTest, ConditionalKvWriteRetriedAfterAnUnknownOutcomeSucceedsInsteadOf412) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/kv/buckets", json{{"name", "b"}}).status, 201);
  const std::string path = "/api/v1/kv/buckets/b/keys/doc";
  auto v1 = api_->Call("PUT", path, std::string("v1"));
  ASSERT_EQ(v1.status, 200);
  const std::string rev = std::to_string(v1.body["revision"].get<uint64_t>());
  auto first = api_->Call("PUT", path, std::string("v2"), {{"Idempotency-Key", "cas-1"}, {"If-Match", rev}});
  ASSERT_EQ(first.status, 200) << first.raw;
  SetLatestRecordState("unknown");
  auto retried = api_->Call("PUT", path, std::string("v2"), {{"Idempotency-Key", "cas-1"}, {"If-Match", rev}});
  EXPECT_EQ(retried.status, 200) << "its own landed write must not fail its precondition: " << retried.raw;
  EXPECT_EQ(retried.body["revision"], first.body["revision"]);
  // Its delete, likewise.
  const std::string rev2 = std::to_string(first.body["revision"].get<uint64_t>());
  ASSERT_EQ(api_->Call("DELETE", path, std::string(), {{"Idempotency-Key", "del-1"}, {"If-Match", rev2}}).status, 204);
  EXPECT_EQ(api_->Call("GET", path).status, 404);
}

TEST_F(IdempotencyTest, SecretRotationRetriedAfterAnUnknownOutcomeWritesOnceAndIsAuditedOnce) {
  const std::string v1 = NewValue(), v2 = NewValue();
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", v1}}).status, 201);
  const std::string rev1 =
      std::to_string(api_->Call("GET", "/api/v1/secrets/STRIPE_KEY").body["revision"].get<uint64_t>());
  const HeaderList headers = {{"Idempotency-Key", "rotate-1"}, {"If-Match", rev1}};
  auto first = api_->Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", v2}}, headers);
  ASSERT_EQ(first.status, 200) << first.raw;
  SetLatestRecordState("unknown");
  auto retried = api_->Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", v2}}, headers);
  EXPECT_EQ(retried.status, 200) << "its own landed write must not fail its If-Match: " << retried.raw;
  EXPECT_EQ(retried.body["revision"], first.body["revision"]);
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/STRIPE_KEY/versions").body["versions"].size(), 2u);
  auto audit = api_->Call("GET", "/api/v1/audit?kind=secret&name=STRIPE_KEY&since=1h");
  ASSERT_EQ(audit.status, 200) << audit.raw;
  EXPECT_EQ(audit.body["entries"].size(), 2u) << "created + one updated: " << audit.raw;

  // A delete retried the same way answers 204, not 404, and is audited once.
  ASSERT_EQ(api_->Call("DELETE", "/api/v1/secrets/STRIPE_KEY", std::string(), Key("del-1")).status, 204);
  SetLatestRecordState("unknown");
  EXPECT_EQ(api_->Call("DELETE", "/api/v1/secrets/STRIPE_KEY", std::string(), Key("del-1")).status, 204);
  audit = api_->Call("GET", "/api/v1/audit?kind=secret&name=STRIPE_KEY&since=1h");
  EXPECT_EQ(audit.body["entries"].size(), 3u) << audit.raw;
}

TEST_F(IdempotencyTest, ConfigPatchRetriedAfterAnUnknownOutcomeMergesOnce) {
  ASSERT_EQ(api_->Call("PUT", "/api/v1/config/flags", json{{"data", {{"n", 1}}}}).status, 200);
  auto first = api_->Call("PATCH", "/api/v1/config/flags", json{{"data", {{"beta", true}}}}, Key("patch-1"));
  ASSERT_EQ(first.status, 200) << first.raw;
  SetLatestRecordState("unknown");
  auto retried = api_->Call("PATCH", "/api/v1/config/flags", json{{"data", {{"beta", true}}}}, Key("patch-1"));
  ASSERT_EQ(retried.status, 200) << retried.raw;
  EXPECT_EQ(retried.body["revision"], first.body["revision"]) << "the retry wrote a new revision";
  EXPECT_EQ(retried.body["data"], json({{"n", 1}, {"beta", true}}));
  auto audit = api_->Call("GET", "/api/v1/audit?kind=config&name=flags&since=1h");
  EXPECT_EQ(audit.body["entries"].size(), 2u) << audit.raw;
}

TEST_F(IdempotencyTest, RetryWhileTheFirstAttemptRunsGets503WithRetryAfter) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/kv/buckets", json{{"name", "b"}}).status, 201);
  const std::string path = "/api/v1/kv/buckets/b/keys/k";
  ASSERT_EQ(api_->Call("PUT", path, std::string("v"), Key("slow")).status, 200);
  SetLatestRecordState("pending");
  auto busy = api_->Call("PUT", path, std::string("v"), Key("slow"));
  EXPECT_EQ(busy.status, 503) << busy.raw;
  EXPECT_EQ(busy.body["error"]["code"], "unavailable");
  // The claim has far longer left than a client's retries: it is told to come back in 3 s, the longest wait.
  EXPECT_EQ(busy.header("retry-after"), "3");
}

TEST_F(IdempotencyTest, KeyOnAWriteThatCannotReplayOrAMalformedKeyIsRefused) {
  auto bucket = api_->Call("POST", "/api/v1/kv/buckets", json{{"name", "b"}}, Key("x"));
  EXPECT_EQ(bucket.status, 400) << bucket.raw;
  EXPECT_NE(bucket.raw.find("Idempotency-Key"), std::string::npos);
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets/b").status, 404) << "a refused request changed something";
  EXPECT_EQ(api_->Call("PUT", "/api/v1/config/c", json{{"data", json::object()}}, Key(std::string(256, 'k'))).status,
            400);
  EXPECT_EQ(api_->Call("PUT", "/api/v1/config/c", json{{"data", json::object()}}, Key("has space")).status, 400);
  EXPECT_EQ(api_->Call("GET", "/api/v1/config/c").status, 404);
  // Reads ignore it.
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets", std::string(), Key("x")).status, 200);
}

TEST_F(IdempotencyTest, ClientsSendKeysExactlyOnTheWritesTheServerReplays) {
  // The CLI and the C++ SDK decide with IdempotentRoute; the server with its route table. They must agree, or a
  // client would send a key the server refuses (400), or retry a write the server would apply twice.
  const std::vector<std::pair<std::string, std::string>> writes = {{"POST", "/api/v1/events"},
                                                                   {"POST", "/api/v1/secrets"},
                                                                   {"PUT", "/api/v1/secrets/S"},
                                                                   {"PATCH", "/api/v1/secrets/S"},
                                                                   {"DELETE", "/api/v1/secrets/S"},
                                                                   {"POST", "/api/v1/secrets/S/rollback"},
                                                                   {"PUT", "/api/v1/config/c"},
                                                                   {"PATCH", "/api/v1/config/c"},
                                                                   {"DELETE", "/api/v1/config/c"},
                                                                   {"PUT", "/api/v1/kv/buckets/b/keys/k"},
                                                                   {"DELETE", "/api/v1/kv/buckets/b/keys/k"},
                                                                   {"POST", "/api/v1/kv/buckets/b/keys/k/increment"},
                                                                   {"POST", "/api/v1/kv/buckets"},
                                                                   {"DELETE", "/api/v1/kv/buckets/b"},
                                                                   {"POST", "/api/v1/rekey"},
                                                                   {"POST", "/api/v1/environments"},
                                                                   {"DELETE", "/api/v1/environments/e"},
                                                                   {"POST", "/api/v1/functions"},
                                                                   {"POST", "/api/v1/apikeys"},
                                                                   {"POST", "/api/v1/signing-key/rotate"},
                                                                   {"POST", "/api/v1/workers/w/register"}};
  int n = 0;
  for (const auto& [method, target] : writes) {
    auto r = api_->Call(method, target, std::string("{}"), Key("agree-" + std::to_string(n++)));
    const bool refused = r.status == 400 && r.raw.find("Idempotency-Key is not supported") != std::string::npos;
    EXPECT_EQ(refused, !IdempotentRoute(method, target)) << method << " " << target << ": " << r.raw;
  }
}

// ---- tagged writes at the store level

class TaggedKvWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nc_ = nats_.Connect();
    auto b = KvBucket::OpenOrCreate(*nc_, {"tagged", "", 5, 1, -1});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    kv_ = std::move(b).value();
  }
  NatsFixture nats_;
  std::unique_ptr<NatsConnection> nc_;
  std::unique_ptr<KvBucket> kv_;
};

TEST_F(TaggedKvWriteTest, LastWriteTellsWhichRequestWroteTheKey) {
  ASSERT_TRUE(kv_->Put("k", "untagged").ok());
  KvBucket::LastWriteInfo info;
  EXPECT_FALSE(*kv_->LastWriteIsTagged("k", "req-a", &info));
  auto rev = kv_->Put("k", "mine", "req-a");
  ASSERT_TRUE(rev.ok());
  ASSERT_TRUE(*kv_->LastWriteIsTagged("k", "req-a", &info));
  EXPECT_EQ(info.revision, *rev);
  EXPECT_EQ(info.value, "mine");
  EXPECT_FALSE(*kv_->LastWriteIsTagged("k", "req-b", &info));
  ASSERT_TRUE(kv_->DeleteLatest("k", "req-c").ok());
  ASSERT_TRUE(*kv_->LastWriteIsTagged("k", "req-c", &info));
  EXPECT_TRUE(info.deleted);
  // A tagged create takes a deleted key, as an untagged one does, and refuses a live one.
  EXPECT_TRUE(kv_->Create("k", "again", "req-d").ok());
  EXPECT_TRUE(kv_->Create("k", "twice", "req-e").status().is(Code::kConflict));
  EXPECT_EQ((*kv_->Get("k"))->value, "again");
}

TEST_F(TaggedKvWriteTest, CounterRetryCountsALandedIncrementOnceAndAMissingOneOnce) {
  RequestTag first{"inc-1", false};
  ASSERT_EQ(IncrementCounter(*kv_, "c", 3, first)->value, 3);
  RequestTag retry_landed{"inc-1", true};
  auto replayed = IncrementCounter(*kv_, "c", 3, retry_landed);
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(replayed->value, 3);
  RequestTag retry_missing{"inc-2", true};  // its first attempt never reached the store
  EXPECT_EQ(IncrementCounter(*kv_, "c", 3, retry_missing)->value, 6);
}

// ---- claims are leases: renewed while their request runs, taken over once their process is gone

class IdempotencyClaimTest : public ::testing::Test {
 protected:
  using Clock = std::chrono::steady_clock;
  static constexpr IdempotencyStore::Timing kTiming{1500, 300};  // the defaults (10 s, 3 s) scaled down

  void SetUp() override {
    nc_ = nats_.Connect();
    auto b = KvBucket::OpenOrCreate(*nc_, {"claims", "", 1, 1, -1});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    kv_ = std::move(b).value();
    actor_.type = "apikey";
    actor_.id = "k1";
    request_.method = "PUT";
    request_.path = "/api/v1/kv/buckets/b/keys/k";
    request_.body = "v";
  }
  // One server process's store (all share the bucket and the fingerprint key, as servers do).
  std::unique_ptr<IdempotencyStore> NewServer() {
    return std::make_unique<IdempotencyStore>(*kv_, SecureBytes(32), kTiming);
  }
  // The claim's "until_ms": when it runs out unless written again.
  int64_t ClaimRunsOutAtMs() {
    auto entries = kv_->List(">");
    if (!entries.ok() || entries->size() != 1) return -1;
    return json::parse(entries->front().value).value("until_ms", int64_t{-1});
  }
  // Polls `done` every 20 ms (the state observed is in NATS, written by another thread) for up to `limit`.
  template <typename Probe>
  static std::optional<std::chrono::milliseconds> TimeUntil(Probe done, std::chrono::milliseconds limit) {
    const auto start = Clock::now();
    while (Clock::now() - start < limit) {
      if (done()) return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }

  NatsFixture nats_;
  std::unique_ptr<NatsConnection> nc_;
  std::unique_ptr<KvBucket> kv_;
  Actor actor_;
  HttpRequest request_;
};

TEST_F(IdempotencyClaimTest, ARequestRunningLongerThanTheLeaseKeepsItsClaimAndItsAnswerIsReplayed) {
  auto running = NewServer();
  auto claim = running->Begin(actor_, request_, "slow");
  ASSERT_TRUE(claim.ok()) << claim.status().ToString();
  ASSERT_FALSE(claim->answer);
  const int64_t first_runs_out = ClaimRunsOutAtMs();
  ASSERT_GT(first_runs_out, 0);
  // The request is still running when its first lease has passed (by the clock the lease is written in).
  ASSERT_TRUE(TimeUntil([&] { return NowUnixMillis() > first_runs_out + 300; }, std::chrono::seconds(5)));
  EXPECT_GT(ClaimRunsOutAtMs(), first_runs_out) << "the running request's claim was not renewed";
  auto other = NewServer();
  auto retry = other->Begin(actor_, request_, "slow");
  ASSERT_FALSE(retry.ok()) << "a retry ran beside the first attempt, which is still running";
  EXPECT_TRUE(retry.status().is(Code::kUnavailable)) << retry.status().ToString();

  HttpResponse answer;
  answer.status = 200;
  answer.body = R"({"revision":7})";
  running->Finish(*claim, answer);
  auto replay = other->Begin(actor_, request_, "slow");
  ASSERT_TRUE(replay.ok()) << replay.status().ToString();
  ASSERT_TRUE(replay->answer) << "the answer recorded after renewals was lost";
  EXPECT_EQ(replay->answer->status, 200);
  EXPECT_EQ(replay->answer->body, answer.body);
}

TEST_F(IdempotencyClaimTest, AClaimWhoseServerIsGoneIsTakenOverAsARetryWithinTheLease) {
  auto dying = NewServer();
  auto claim = dying->Begin(actor_, request_, "orphan");
  ASSERT_TRUE(claim.ok()) << claim.status().ToString();
  dying.reset();  // the server is gone mid-request: nothing renews its claim
  auto other = NewServer();
  auto busy = other->Begin(actor_, request_, "orphan");
  ASSERT_TRUE(busy.status().is(Code::kUnavailable));
  // A client is told to come back when the 1.5 s claim runs out (not after the 3 s a longer claim would get).
  EXPECT_GE(busy.status().retry_after_s(), 1);
  EXPECT_LE(busy.status().retry_after_s(), 2);
  std::optional<IdempotencyStore::Claim> taken;
  auto took = TimeUntil(
      [&] {
        auto c = other->Begin(actor_, request_, "orphan");
        if (c.ok()) taken = std::move(c).value();
        return taken.has_value();
      },
      std::chrono::seconds(10));
  ASSERT_TRUE(took) << "the dead server's claim was never taken over";
  EXPECT_LE(took->count(), kTiming.claim_ms + 1000) << "the retry waited longer than the lease";
  EXPECT_FALSE(taken->answer);
  EXPECT_TRUE(taken->tag.retry) << "a takeover must run as a retry, which checks whether the first write landed";
  EXPECT_EQ(taken->tag.id, claim->tag.id);
  HttpResponse answer;
  other->Finish(*taken, answer);
}

// A master-key rotation rolls out server by server: a retry may reach a server already on the new key (which
// keeps the old one as previous) after its first attempt ran on one still on the old key.
TEST_F(IdempotencyClaimTest, ARetryCrossingToAServerWithTheRotatedMasterKeyIsReplayedNotRefused) {
  const SecureBytes old_key(AsBytes(std::string(32, 'o'))), new_key(AsBytes(std::string(32, 'n')));
  IdempotencyStore old_server(*kv_, old_key.Clone(), kTiming);
  IdempotencyStore rotated(*kv_, new_key.Clone(), kTiming, old_key.Clone());
  IdempotencyStore new_key_only(*kv_, new_key.Clone(), kTiming);

  auto first = old_server.Begin(actor_, request_, "rotating");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_FALSE(first->answer);
  HttpResponse answer;
  answer.status = 201;
  answer.body = R"({"revision":7})";
  old_server.Finish(*first, answer);

  auto retry = rotated.Begin(actor_, request_, "rotating");
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  ASSERT_TRUE(retry->answer) << "the retry ran again instead of being replayed";
  EXPECT_EQ(retry->answer->status, 201) << "a 422 means the old server's fingerprint was not recognised";
  EXPECT_EQ(retry->answer->body, answer.body);

  // The previous key does not loosen the check: another request with the same key is still refused...
  HttpRequest other = request_;
  other.body = "another value";
  auto reused = rotated.Begin(actor_, other, "rotating");
  ASSERT_TRUE(reused.ok()) << reused.status().ToString();
  ASSERT_TRUE(reused->answer);
  EXPECT_EQ(reused->answer->status, 422);
  // ...and it is what made the match: a server with only the new key cannot tell.
  auto without_previous = new_key_only.Begin(actor_, request_, "rotating");
  ASSERT_TRUE(without_previous.ok()) << without_previous.status().ToString();
  ASSERT_TRUE(without_previous->answer);
  EXPECT_EQ(without_previous->answer->status, 422);
}

TEST_F(IdempotencyClaimTest, AnUnknownOutcomeRetriedOnTheRotatedServerRunsWithTheFirstAttemptsIds) {
  const SecureBytes old_key(AsBytes(std::string(32, 'o'))), new_key(AsBytes(std::string(32, 'n')));
  IdempotencyStore old_server(*kv_, old_key.Clone(), kTiming);
  IdempotencyStore rotated(*kv_, new_key.Clone(), kTiming, old_key.Clone());
  auto first = old_server.Begin(actor_, request_, "unknown");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  HttpResponse unavailable;
  unavailable.status = 503;
  old_server.Finish(*first, unavailable);

  auto retry = rotated.Begin(actor_, request_, "unknown");
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  ASSERT_FALSE(retry->answer);
  EXPECT_TRUE(retry->tag.retry);
  // The same tag: the retry's event and run ids are the first attempt's, so a write that landed is found.
  EXPECT_EQ(retry->tag.id, first->tag.id);
  HttpResponse done;
  rotated.Finish(*retry, done);
}

// Finish's write of the answer timed out but landed, and its next try meets the record it wrote itself: the
// answer is recorded, which must not be logged as lost (operators would chase a failure that did not happen).
TEST_F(IdempotencyClaimTest, AnAnswerWhoseWriteLandedIsNotReportedAsLost) {
  std::ostringstream log;
  struct RestoreLogger {  // also when an assertion below returns early: later tests must not log into `log`
    std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
    ~RestoreLogger() { spdlog::set_default_logger(previous); }
  } restore;
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  auto server = NewServer();
  auto claim = server->Begin(actor_, request_, "landed");
  ASSERT_TRUE(claim.ok()) << claim.status().ToString();
  HttpResponse answer;
  answer.status = 201;
  answer.body = R"({"revision":3})";
  server->Finish(*claim, answer);
  server->Finish(*claim, answer);  // the same write again, from the claim's first revision: as a retry sends it
  EXPECT_EQ(log.str().find("could not be recorded"), std::string::npos) << log.str();
  auto replay = NewServer()->Begin(actor_, request_, "landed");
  ASSERT_TRUE(replay.ok()) << replay.status().ToString();
  ASSERT_TRUE(replay->answer);
  EXPECT_EQ(replay->answer->body, answer.body);
}

}  // namespace
}  // namespace ironflow::server::testing
