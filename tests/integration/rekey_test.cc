// Master-key rotation: with IRONFLOW_MASTER_KEY_PREVIOUS the old values stay readable, rekey re-encrypts them
// under the new key without losing a concurrent write, and afterwards the server needs only the new key. A key
// unrelated to the data still refuses to start.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/api_fixture.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

ServerProcess::Options Opts(const NatsFixture& nats, const TempDir& data, const std::string& key,
                            const std::string& previous = "") {
  ServerProcess::Options o{nats.url(), data.path() + "/d", key};
  o.previous_master_key = previous;
  return o;
}

// The value a pull worker receives for `secret` (through the runtime plane, the only way values come out).
std::string Delivered(ApiClient& api, const std::string& secret, int n) {
  const std::string fn = "read_" + std::to_string(n);
  api.Call("POST", "/api/v1/functions",
           json{{"id", fn}, {"triggers", {{{"event", fn + ".go"}}}}, {"secrets", {secret}}, {"mode", "pull"}});
  api.Call("POST", "/api/v1/workers/w/register",
           json{{"function_ids", {fn}}, {"max_concurrent_jobs", 1}, {"lease_ms", 30000}});
  api.Call("POST", "/api/v1/events", json{{"name", fn + ".go"}, {"data", json::object()}});
  auto jobs = api.Call("GET", "/api/v1/workers/w/jobs?available=1&wait_ms=10000");
  if (jobs.status != 200) return "<no job: " + jobs.raw + ">";
  json job = jobs.body["jobs"][0];
  api.Call(
      "PUT", "/api/v1/workers/w/jobs/" + job["job_id"].get<std::string>(),
      json{
          {"lease_token", job["lease_token"]}, {"status", "completed"}, {"output", nullptr}, {"steps", json::array()}});
  return job["context"]["secrets"].value(secret, "<not delivered>");
}

TEST(RekeyTest, RotationKeepsEveryValueLosesNoConcurrentWriteAndEndsNeedingOnlyTheNewKey) {
  NatsFixture nats;
  TempDir data;
  const std::string old_key = NewMasterKey(), new_key = NewMasterKey();
  std::string error;
  std::map<std::string, std::string> values;
  std::string old_id;
  {
    ServerProcess first(Opts(nats, data, old_key));
    ASSERT_TRUE(first.Start(&error)) << error;
    ApiClient api(first.url(), first.api_key());
    for (int i = 0; i < 20; ++i) {
      std::string name = "S" + std::to_string(i), value = "v-" + RandomHex(12);
      ASSERT_EQ(api.Call("PUT", "/api/v1/secrets/" + name, json{{"value", value}}).status, 201);
      values[name] = value;
    }
    old_id = api.Call("GET", "/api/v1/status").body["encryption"]["key_id"];
    first.Stop();
  }

  ServerProcess rotating(Opts(nats, data, new_key, old_key));
  ASSERT_TRUE(rotating.Start(&error)) << error;
  ApiClient api(rotating.url(), rotating.api_key());
  json status = api.Call("GET", "/api/v1/status").body["encryption"];
  const std::string new_id = status["key_id"];
  EXPECT_EQ(status["previous_key_id"], old_id);
  EXPECT_EQ(status["secrets_by_key_id"][old_id], 20);
  EXPECT_EQ(Delivered(api, "S3", 1), values["S3"]) << "an old value is readable during the rotation";

  // A writer keeps rotating S0 while the rekey runs; its last acknowledged value must win.
  std::atomic<bool> stop{false};
  std::string last_acknowledged;
  std::thread writer([&] {
    ApiClient w(rotating.url(), rotating.api_key());
    for (int i = 0; !stop.load() || i < 5; ++i) {
      std::string v = "w-" + RandomHex(12);
      if (w.Call("PUT", "/api/v1/secrets/S0", json{{"value", v}}).status == 200) last_acknowledged = v;
    }
  });
  auto rekey = api.Call("POST", "/api/v1/rekey", json{{"all", true}});
  stop = true;
  writer.join();
  ASSERT_EQ(rekey.status, 200) << rekey.raw;
  EXPECT_TRUE(rekey.body["failed"].empty()) << rekey.raw;
  EXPECT_EQ(rekey.body["rekeyed"].get<int>() + rekey.body["already_current"].get<int>(), 20) << rekey.raw;
  EXPECT_EQ(rekey.body["secrets_by_key_id"], json({{new_id, 20}})) << rekey.raw;
  EXPECT_EQ(Delivered(api, "S0", 2), last_acknowledged) << "the concurrent write was not lost";
  for (const auto& [name, value] : values) EXPECT_EQ(rekey.raw.find(value), std::string::npos);
  // Idempotent: a second run finds nothing to do.
  auto again = api.Call("POST", "/api/v1/rekey", json{{"all", true}});
  EXPECT_EQ(again.body["rekeyed"], 0) << again.raw;
  rotating.Stop();

  // Only the new key from now on.
  ServerProcess after(Opts(nats, data, new_key));
  ASSERT_TRUE(after.Start(&error)) << error;
  ApiClient api2(after.url(), after.api_key());
  EXPECT_EQ(Delivered(api2, "S7", 3), values["S7"]);
  EXPECT_EQ(Delivered(api2, "S0", 4), last_acknowledged);
  after.Stop();

  // The old key alone, or an unrelated key (even with the old one as "previous"), refuses to start.
  ServerProcess old_only(Opts(nats, data, old_key));
  EXPECT_EQ(old_only.RunUntilExit(), 1);
  ServerProcess unrelated(Opts(nats, data, NewMasterKey(), old_key));
  EXPECT_EQ(unrelated.RunUntilExit(), 1);
  EXPECT_NE(unrelated.log().find("refusing to start"), std::string::npos) << unrelated.log();
  EXPECT_EQ(unrelated.log().find(old_key), std::string::npos);
}

TEST(RekeyTest, PreviousKeyWithoutACurrentKeyIsRefused) {
  NatsFixture nats;
  TempDir data;
  ServerProcess s(Opts(nats, data, "", NewMasterKey()));
  EXPECT_EQ(s.RunUntilExit(), 1);
  EXPECT_NE(s.log().find("IRONFLOW_MASTER_KEY_PREVIOUS needs IRONFLOW_MASTER_KEY"), std::string::npos) << s.log();
}

}  // namespace
}  // namespace ironflow::server::testing
