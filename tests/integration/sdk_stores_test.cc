// The SDK's ctx.config and ctx.kv() end to end: the flags_and_counters example (a real pull-mode SDK worker)
// runs against a real server, reads a config document and increments a counter of the run's environment.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "support/api_fixture.h"
#include "support/child_process.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

class SdkStoresTest : public ApiTest {
 protected:
  json WaitRunDone(const std::string& run_id, ApiClient* client) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    json last;
    while (std::chrono::steady_clock::now() < deadline) {
      last = client->Call("GET", "/api/v1/runs/" + run_id).body;
      if (last.is_object() && (last["status"] == "completed" || last["status"] == "failed")) return last;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "run " << run_id << " did not finish; last: " << last.dump();
    return last;
  }
  // Waits (bounded) until the worker has registered its function in `client`'s environment.
  bool WaitFunction(ApiClient* client) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (client->Call("GET", "/api/v1/functions/count_payout").status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
};

TEST_F(SdkStoresTest, FunctionReadsConfigAndIncrementsCountersOfItsOwnEnvironment) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "production"}}).status, 201);
  auto prod = ClientFor("production");
  // Same names in two environments, different contents: the function must see production's.
  ASSERT_EQ(prod->Call("PUT", "/api/v1/config/payouts", json{{"data", {{"daily_limit", 2}}}}).status, 200);
  ASSERT_EQ(api_->Call("PUT", "/api/v1/config/payouts", json{{"data", {{"daily_limit", 99}}}}).status, 200);
  ASSERT_EQ(prod->Call("POST", "/api/v1/kv/buckets", json{{"name", "counters"}}).status, 201);
  ASSERT_EQ(api_->Call("POST", "/api/v1/kv/buckets", json{{"name", "counters"}}).status, 201);

  TempDir dir;
  ChildProcess worker(std::string(IRONFLOW_EXAMPLES_DIR) + "/flags_and_counters",
                      {{"IRONFLOW_SERVER_URL", server_->url()},
                       {"IRONFLOW_API_KEY", server_->api_key()},
                       {"IRONFLOW_ENV", "production"}},
                      dir.path() + "/worker.log");
  ASSERT_TRUE(WaitFunction(prod.get())) << ReadFile(dir.path() + "/worker.log");

  std::set<int64_t> counts;
  int over_limit = 0;
  for (int i = 0; i < 3; ++i) {
    auto e = prod->Call("POST", "/api/v1/events", json{{"name", "payout.requested"}, {"data", {{"day", "d1"}}}});
    ASSERT_EQ(e.status, 202) << e.raw;
    json run = WaitRunDone(e.body["run_ids"][0], prod.get());
    if (run["status"] == "completed") {
      EXPECT_EQ(run["output"]["limit"], 2) << run.dump();
      EXPECT_EQ(run["output"]["environment"], "production");
      counts.insert(run["output"]["count"].get<int64_t>());
    } else {
      ++over_limit;
      EXPECT_NE(run.dump().find("daily payout limit reached"), std::string::npos) << run.dump();
    }
  }
  EXPECT_EQ(counts, (std::set<int64_t>{1, 2}));
  EXPECT_EQ(over_limit, 1);
  // The counter lives in production's bucket only.
  auto prod_counter = prod->Call("GET", "/api/v1/kv/buckets/counters/keys/payouts.d1");
  ASSERT_EQ(prod_counter.status, 200) << prod_counter.raw;
  EXPECT_EQ(prod_counter.body["value"], "Mw==");  // "3"
  EXPECT_EQ(api_->Call("GET", "/api/v1/kv/buckets/counters/keys/payouts.d1").status, 404);
}

}  // namespace
}  // namespace ironflow::server::testing
