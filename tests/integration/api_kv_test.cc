// User KV store through the HTTP API: buckets per environment, raw values round-trip (base64 in JSON), CAS and
// create-only (412), counters stay exact under concurrency, TTL expires keys, watches replay then follow, and no
// bucket name reaches the system's own buckets.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "common/hex.h"
#include "store/kv_bucket.h"
#include "support/api_fixture.h"
#include "support/sse_reader.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

std::string B64(std::string_view s) { return Base64Encode(s); }

class KvApiTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    if (HasFatalFailure()) return;
    auto r = api_->Call("POST", "/api/v1/kv/buckets", json{{"name", "sessions"}, {"description", "web sessions"}});
    ASSERT_EQ(r.status, 201) << r.raw;
  }
  std::string KeyPath(const std::string& key, const std::string& bucket = "sessions") {
    return "/api/v1/kv/buckets/" + bucket + "/keys/" + key;
  }
};

TEST_F(KvApiTest, BucketInfoReportsItsSettingsAndUsage) {
  auto created = api_->Call("POST", "/api/v1/kv/buckets",
                            json{{"name", "cache"}, {"ttl_seconds", 3600}, {"history", 5}, {"max_value_size", 1024}});
  ASSERT_EQ(created.status, 201) << created.raw;
  EXPECT_EQ(created.body["name"], "cache");
  EXPECT_EQ(created.body["ttl_seconds"], 3600);
  EXPECT_EQ(created.body["history"], 5);
  EXPECT_EQ(created.body["replicas"], 1) << "default: the server's --kv-replicas";
  EXPECT_EQ(created.body["values"], 0);
  ASSERT_EQ(api_->Call("PUT", KeyPath("k", "cache"), std::string("v1")).status, 200);
  auto info = api_->Call("GET", "/api/v1/kv/buckets/cache");
  ASSERT_EQ(info.status, 200);
  EXPECT_EQ(info.body["values"], 1);
  EXPECT_GT(info.body["bytes"].get<uint64_t>(), 0u);
  EXPECT_TRUE(info.body["created_at"].is_string());
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets/sessions").body["description"], "web sessions");
  auto list = api_->Call("GET", "/api/v1/kv/buckets");
  ASSERT_EQ(list.body["buckets"].size(), 2u);
  EXPECT_EQ(list.body["buckets"][0]["name"], "cache");
  EXPECT_EQ(api_->Call("POST", "/api/v1/kv/buckets", json{{"name", "cache"}}).status, 409);
  EXPECT_EQ(api_->Call("PUT", KeyPath("big", "cache"), std::string(1025, 'x')).status, 413);
  ASSERT_EQ(api_->Call("DELETE", "/api/v1/kv/buckets/cache").status, 204);
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets/cache").status, 404);
  EXPECT_EQ(api_->Call("DELETE", "/api/v1/kv/buckets/cache").status, 404);
  EXPECT_EQ(api_->Call("GET", KeyPath("k", "cache")).status, 404);
}

TEST_F(KvApiTest, ReplicasBeyondWhatThisNatsCanHoldExactlyAreRefusedAndCreateNothing) {
  // One node here, and (on Debian's 2.9.10) a NATS too old for exact replicated compare-and-set: either way the
  // answer is a 400 naming the replicas, never a 500 or a half-made bucket.
  for (int replicas : {0, 6}) {
    auto r = api_->Call("POST", "/api/v1/kv/buckets", json{{"name", "r"}, {"replicas", replicas}});
    EXPECT_EQ(r.status, 400) << replicas;
    EXPECT_NE(r.body["error"]["message"].get<std::string>().find("replicas"), std::string::npos) << r.raw;
  }
  auto r3 = api_->Call("POST", "/api/v1/kv/buckets", json{{"name", "r"}, {"replicas", 3}});
  EXPECT_EQ(r3.status, 400) << r3.raw;
  EXPECT_NE(r3.body["error"]["message"].get<std::string>().find("replicas 3"), std::string::npos) << r3.raw;
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets/r").status, 404);
  auto r1 = api_->Call("POST", "/api/v1/kv/buckets", json{{"name", "r"}, {"replicas", 1}});
  ASSERT_EQ(r1.status, 201) << r1.raw;
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets/r").body["replicas"], 1);
}

TEST_F(KvApiTest, RawValuesRoundTripAsBase64) {
  std::string binary("\x00\x01\xff{\"json\":1}\n", 14);
  auto put = api_->Call("PUT", KeyPath("user.42.cart"), binary);
  ASSERT_EQ(put.status, 200) << put.raw;
  auto got = api_->Call("GET", KeyPath("user.42.cart"));
  ASSERT_EQ(got.status, 200) << got.raw;
  EXPECT_EQ(got.body["key"], "user.42.cart");
  EXPECT_EQ(got.body["value"], B64(binary));
  EXPECT_EQ(got.body["revision"], put.body["revision"]);
  EXPECT_TRUE(got.body["created_at"].is_string());
  ASSERT_EQ(api_->Call("PUT", KeyPath("user.7.cart"), std::string("x")).status, 200);
  ASSERT_EQ(api_->Call("PUT", KeyPath("other"), std::string("y")).status, 200);
  auto keys = api_->Call("GET", "/api/v1/kv/buckets/sessions/keys?filter=user.*.cart");
  ASSERT_EQ(keys.status, 200) << keys.raw;
  EXPECT_EQ(keys.body["keys"], json({"user.42.cart", "user.7.cart"}));
  EXPECT_EQ(keys.body["count"], 2);
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets/sessions/keys").body["count"], 3);
  EXPECT_EQ(api_->Call("GET", KeyPath("missing")).status, 404);
}

TEST_F(KvApiTest, CreateOnlyAndCompareAndSetConflictsAre412AndChangeNothing) {
  auto first = api_->Call("PUT", KeyPath("lock"), std::string("a"), {{"If-None-Match", "*"}});
  ASSERT_EQ(first.status, 200) << first.raw;
  uint64_t rev = first.body["revision"];
  EXPECT_EQ(api_->Call("PUT", KeyPath("lock"), std::string("b"), {{"If-None-Match", "*"}}).status, 412);
  EXPECT_EQ(api_->Call("PUT", KeyPath("lock"), std::string("c"), {{"If-Match", std::to_string(rev + 9)}}).status, 412);
  EXPECT_EQ(api_->Call("GET", KeyPath("lock")).body["value"], B64("a"));
  ASSERT_EQ(api_->Call("PUT", KeyPath("lock"), std::string("d"), {{"If-Match", std::to_string(rev)}}).status, 200);
  EXPECT_EQ(api_->Call("PUT", KeyPath("lock"), std::string("e"), {{"If-Match", std::to_string(rev)}}).status, 412);
  EXPECT_EQ(api_->Call("GET", KeyPath("lock")).body["value"], B64("d"));
}

TEST_F(KvApiTest, DeleteIsIdempotentAndPurgeDropsHistory) {
  ASSERT_EQ(api_->Call("PUT", KeyPath("k"), std::string("1")).status, 200);
  EXPECT_EQ(api_->Call("DELETE", KeyPath("k")).status, 204);
  EXPECT_EQ(api_->Call("GET", KeyPath("k")).status, 404);
  EXPECT_EQ(api_->Call("DELETE", KeyPath("k")).status, 204);
  EXPECT_EQ(api_->Call("DELETE", KeyPath("never")).status, 204);
  // In a bucket keeping history, purge leaves only a purge marker where every revision was.
  ASSERT_EQ(api_->Call("POST", "/api/v1/kv/buckets", json{{"name", "hist"}, {"history", 5}}).status, 201);
  for (std::string v : {"1", "2", "3"}) ASSERT_EQ(api_->Call("PUT", KeyPath("p", "hist"), v).status, 200);
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets/hist").body["values"], 3);
  EXPECT_EQ(api_->Call("DELETE", KeyPath("p", "hist") + "?purge=true").status, 204);
  EXPECT_EQ(api_->Call("GET", KeyPath("p", "hist")).status, 404);
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets/hist").body["values"], 1);
}

TEST_F(KvApiTest, EightClientsTimesAThousandIncrementsCountExactlyEightThousand) {
  constexpr int kClients = 8, kEach = 1000;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&] {
      ApiClient client(server_->url(), server_->api_key());
      for (int i = 0; i < kEach; ++i) {
        if (client.Call("POST", KeyPath("hits") + "/increment", std::string()).status != 200) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto got = api_->Call("GET", KeyPath("hits"));
  EXPECT_EQ(got.body["value"], B64(std::to_string(kClients * kEach)));
}

TEST_F(KvApiTest, TwoServersIncrementingOneCounterLoseNothing) {
  // Each server serializes its own increments and remembers what it wrote last; only the compare-and-set in
  // NATS keeps the two servers from overwriting each other.
  TempDir second_dir;
  ServerProcess second({nats_.url(), second_dir.path() + "/data", master_key_});
  std::string error;
  ASSERT_TRUE(second.Start(&error)) << error;
  constexpr int kPerServer = 4, kEach = 300;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int c = 0; c < 2 * kPerServer; ++c) {
    std::string url = c % 2 == 0 ? server_->url() : second.url();
    threads.emplace_back([&, url] {
      ApiClient client(url, server_->api_key());
      for (int i = 0; i < kEach; ++i) {
        if (client.Call("POST", KeyPath("shared") + "/increment", std::string()).status != 200) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(api_->Call("GET", KeyPath("shared")).body["value"], B64(std::to_string(2 * kPerServer * kEach)));
  // A write made behind the servers' backs is picked up by the next increment, not overwritten.
  ASSERT_EQ(api_->Call("PUT", KeyPath("shared"), std::string("1000")).status, 200);
  EXPECT_EQ(ApiClient(second.url(), server_->api_key())
                .Call("POST", KeyPath("shared") + "/increment", std::string())
                .body["value"],
            1001);
}

TEST_F(KvApiTest, CountersStartAtZeroTakeAnyStepAndRefuseNonIntegersAndOverflow) {
  auto a = api_->Call("POST", KeyPath("n") + "/increment", json{{"by", 5}});
  ASSERT_EQ(a.status, 200) << a.raw;
  EXPECT_EQ(a.body["value"], 5);
  auto b = api_->Call("POST", KeyPath("n") + "/increment", json{{"by", -7}});
  EXPECT_EQ(b.body["value"], -2);
  EXPECT_GT(b.body["revision"].get<uint64_t>(), a.body["revision"].get<uint64_t>());
  ASSERT_EQ(api_->Call("PUT", KeyPath("text"), std::string("hello")).status, 200);
  auto c = api_->Call("POST", KeyPath("text") + "/increment", std::string());
  EXPECT_EQ(c.status, 409) << c.raw;
  EXPECT_EQ(api_->Call("GET", KeyPath("text")).body["value"], B64("hello"));
  ASSERT_EQ(api_->Call("PUT", KeyPath("max"), std::to_string(INT64_MAX)).status, 200);
  EXPECT_EQ(api_->Call("POST", KeyPath("max") + "/increment", std::string()).status, 409);
  EXPECT_EQ(api_->Call("GET", KeyPath("max")).body["value"], B64(std::to_string(INT64_MAX)));
  EXPECT_EQ(api_->Call("POST", KeyPath("n") + "/increment", json{{"by", 1.5}}).status, 400);
  EXPECT_EQ(api_->Call("POST", KeyPath("n") + "/increment", json{{"by", "1"}}).status, 400);
  EXPECT_EQ(api_->Call("GET", KeyPath("n")).body["value"], B64("-2"));
}

TEST_F(KvApiTest, KeysExpireAfterTheBucketTtl) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/kv/buckets", json{{"name", "short"}, {"ttl_seconds", 1}}).status, 201);
  ASSERT_EQ(api_->Call("PUT", KeyPath("session", "short"), std::string("token")).status, 200);
  EXPECT_EQ(api_->Call("GET", KeyPath("session", "short")).status, 200);
  // Expiry is the server's doing; poll (bounded) for it rather than guessing a sleep.
  int status = 200;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (status == 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = api_->Call("GET", KeyPath("session", "short")).status;
  }
  EXPECT_EQ(status, 404) << "the key outlived its bucket's 1 s TTL by 15 s";
}

TEST_F(KvApiTest, WatchSendsCurrentValuesThenChangesInOrder) {
  ASSERT_EQ(api_->Call("PUT", KeyPath("a"), std::string("0")).status, 200);
  SseReader reader(server_->url(), server_->api_key(), "default", "/api/v1/kv/buckets/sessions/watch?key=a");
  std::pair<std::string, std::string> frame;
  ASSERT_TRUE(reader.frames().Next(&frame));
  EXPECT_EQ(frame.second, ": subscribed");
  auto next_json = [&]() -> json {
    EXPECT_TRUE(reader.frames().Next(&frame));
    return json::parse(frame.second.substr(6), nullptr, false);
  };
  json initial = next_json();
  EXPECT_EQ(initial["type"], "kv_update");
  EXPECT_EQ(initial["key"], "a");
  EXPECT_EQ(initial["value"], B64("0"));
  EXPECT_EQ(initial["operation"], "put");
  ASSERT_EQ(api_->Call("PUT", KeyPath("b"), std::string("not watched")).status, 200);
  ASSERT_EQ(api_->Call("PUT", KeyPath("a"), std::string("1")).status, 200);
  ASSERT_EQ(api_->Call("POST", KeyPath("a") + "/increment", std::string()).status, 200);
  json u1 = next_json();
  EXPECT_EQ(u1["value"], B64("1"));
  json u2 = next_json();
  EXPECT_EQ(u2["value"], B64("2"));
  EXPECT_GT(u2["revision"].get<uint64_t>(), u1["revision"].get<uint64_t>());
  reader.StopAfterNextFrame();
  ASSERT_EQ(api_->Call("DELETE", KeyPath("a")).status, 204);
  json d = next_json();
  EXPECT_EQ(d["operation"], "delete");
  EXPECT_EQ(d["key"], "a");
}

TEST_F(KvApiTest, NoBucketNameReachesTheSystemBuckets) {
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", NewValue()}}).status, 201);
  for (std::string name : {"secrets", "ironflow-secrets", "ironflow-config", "ironflow-auth"}) {
    auto r = api_->Call("GET", "/api/v1/kv/buckets/" + name + "/keys");
    EXPECT_EQ(r.status, 404) << name << ": " << r.raw;
    EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets/" + name + "/keys/default.STRIPE_KEY").status, 404) << name;
  }
  // A user bucket named "secrets" is just a user bucket: empty, and separate from the secrets store.
  ASSERT_EQ(api_->Call("POST", "/api/v1/kv/buckets", json{{"name", "secrets"}}).status, 201);
  auto keys = api_->Call("GET", "/api/v1/kv/buckets/secrets/keys");
  ASSERT_EQ(keys.status, 200);
  EXPECT_EQ(keys.body["count"], 0);
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets/secrets/keys/default.STRIPE_KEY").status, 404);
  // Path tricks never leave the user's namespace.
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets/..%2Fironflow-secrets/keys").status, 400);
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets/IRONFLOW-SECRETS/keys").status, 400);
}

TEST_F(KvApiTest, EnvironmentsHaveSeparateBuckets) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "staging"}}).status, 201);
  auto staging = ClientFor("staging");
  EXPECT_EQ(staging->Call("GET", "/api/v1/kv/buckets/sessions").status, 404);
  ASSERT_EQ(staging->Call("POST", "/api/v1/kv/buckets", json{{"name", "sessions"}}).status, 201);
  ASSERT_EQ(api_->Call("PUT", KeyPath("k"), std::string("default")).status, 200);
  ASSERT_EQ(staging->Call("PUT", KeyPath("k"), std::string("staging")).status, 200);
  EXPECT_EQ(api_->Call("GET", KeyPath("k")).body["value"], B64("default"));
  EXPECT_EQ(staging->Call("GET", KeyPath("k")).body["value"], B64("staging"));
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets").body["buckets"].size(), 1u);
  // An environment whose name extends another's ("staging" vs "staging-2") does not list its buckets.
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "staging-2"}}).status, 201);
  EXPECT_EQ(ClientFor("staging-2")->Call("GET", "/api/v1/kv/buckets").body["buckets"].size(), 0u);
  // Deleting an environment that holds buckets needs force, and takes them along.
  EXPECT_EQ(api_->Call("DELETE", "/api/v1/environments/staging").status, 409);
  ASSERT_EQ(api_->Call("DELETE", "/api/v1/environments/staging?force=true").status, 204);
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "staging"}}).status, 201);
  EXPECT_EQ(staging->Call("GET", "/api/v1/kv/buckets/sessions").status, 404);
}

TEST_F(KvApiTest, BadNamesKeysAndBodiesAreRejectedAndChangeNothing) {
  ASSERT_EQ(api_->Call("PUT", KeyPath("keep"), std::string("v")).status, 200);
  struct Case {
    std::string method, target, body;
    HeaderList headers;
    int want;
  } cases[] = {
      {"POST", "/api/v1/kv/buckets", R"({"name":"Bad"})", {}, 400},
      {"POST", "/api/v1/kv/buckets", R"({"name":"-x"})", {}, 400},
      {"POST", "/api/v1/kv/buckets", R"({"name":"a.b"})", {}, 400},
      {"POST", "/api/v1/kv/buckets", R"({"name":"ok","history":0})", {}, 400},
      {"POST", "/api/v1/kv/buckets", R"({"name":"ok","history":65})", {}, 400},
      {"POST", "/api/v1/kv/buckets", R"({"name":"ok","ttl_seconds":-1})", {}, 400},
      {"POST", "/api/v1/kv/buckets", R"({"name":"ok","max_value_size":0})", {}, 400},
      {"POST", "/api/v1/kv/buckets", R"({"name":"ok","unknown":1})", {}, 400},
      {"POST", "/api/v1/kv/buckets", R"({"name":"ok","history":"3"})", {}, 400},
      {"PUT", "/api/v1/kv/buckets/sessions/keys/.lead", "v", {}, 400},
      {"PUT", "/api/v1/kv/buckets/sessions/keys/trail.", "v", {}, 400},
      {"PUT", "/api/v1/kv/buckets/sessions/keys/dou..ble", "v", {}, 400},
      {"PUT", "/api/v1/kv/buckets/sessions/keys/sp%20ace", "v", {}, 400},
      {"PUT", "/api/v1/kv/buckets/sessions/keys/wild*", "v", {}, 400},
      {"PUT", "/api/v1/kv/buckets/sessions/keys/sl%2Fash", "v", {}, 400},
      {"PUT", "/api/v1/kv/buckets/sessions/keys/" + std::string(257, 'k'), "v", {}, 400},
      {"PUT", "/api/v1/kv/buckets/sessions/keys/keep", "v", {{"If-Match", "x"}}, 400},
      {"PUT", "/api/v1/kv/buckets/sessions/keys/keep", std::string(600 * 1024, 'x'), {}, 413},
      {"PUT", "/api/v1/kv/buckets/nope/keys/k", "v", {}, 404},
      {"GET", "/api/v1/kv/buckets/sessions/keys?filter=a..b", "", {}, 400},
      {"GET", "/api/v1/kv/buckets/sessions/keys?filter=>.a", "", {}, 400},
      {"GET", "/api/v1/kv/buckets/sessions/watch?key=a b", "", {}, 400},
      {"POST", "/api/v1/kv/buckets/sessions/keys/keep/increment", R"({"by":1})", {}, 409},
      {"POST", "/api/v1/kv/buckets/sessions/keys/n/increment", R"({"step":1})", {}, 400},
      {"POST", "/api/v1/kv/buckets/sessions/keys/n/increment", R"({"by":9223372036854775808})", {}, 400},
      {"DELETE", "/api/v1/kv/buckets/sessions/keys/keep?purge=yes", "", {}, 400},
  };
  for (const auto& c : cases) {
    auto r = api_->Call(c.method, c.target, std::string(c.body), c.headers);
    EXPECT_EQ(r.status, c.want) << c.method << " " << c.target.substr(0, 80) << " -> " << r.raw;
    EXPECT_TRUE(r.body.contains("error")) << r.raw;
  }
  EXPECT_EQ(api_->Call("GET", KeyPath("keep")).body["value"], B64("v"));
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets/sessions/keys").body["count"], 1);
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets").body["buckets"].size(), 1u);
}

}  // namespace
}  // namespace ironflow::server::testing
