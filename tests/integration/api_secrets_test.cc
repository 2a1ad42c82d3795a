// The secrets HTTP API end to end: real `ironflow serve` on a real nats-server.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <set>
#include <thread>

#include "support/api_fixture.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

class ApiSecretsTest : public ApiTest {};

void ExpectNoValueField(const json& j) {
  if (j.is_object()) {
    EXPECT_FALSE(j.contains("value")) << "a response carried a value field: " << j.dump();
    for (const auto& [k, v] : j.items()) ExpectNoValueField(v);
  } else if (j.is_array()) {
    for (const auto& v : j) ExpectNoValueField(v);
  }
}

TEST_F(ApiSecretsTest, CreateReturnsMetadataOnlyWithRevisionAndETag) {
  std::string value = NewValue();
  auto r =
      api_->Call("POST", "/api/v1/secrets", json{{"name", "STRIPE_KEY"}, {"value", value}, {"description", "stripe"}});
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.raw.find(value), std::string::npos);
  ExpectNoValueField(r.body);
  EXPECT_EQ(r.body["name"], "STRIPE_KEY");
  EXPECT_EQ(r.body["environment"], "default");
  EXPECT_EQ(r.body["description"], "stripe");
  EXPECT_EQ(r.body["encrypted"], true);
  EXPECT_EQ(r.body["key_id"].get<std::string>().size(), 16u);
  EXPECT_GT(r.body["revision"].get<uint64_t>(), 0u);
  EXPECT_EQ(r.header("etag"), "\"" + std::to_string(r.body["revision"].get<uint64_t>()) + "\"");
  EXPECT_EQ(r.body["created_at"], r.body["updated_at"]);
  EXPECT_EQ(r.body["created_at"].get<std::string>().back(), 'Z');

  auto dup = api_->Call("POST", "/api/v1/secrets", json{{"name", "STRIPE_KEY"}, {"value", NewValue()}});
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.body["error"]["code"], "already_exists");
}

TEST_F(ApiSecretsTest, PutCreatesThenRotatesWithHigherRevisionKeepingCreatedAt) {
  auto created = api_->Call("PUT", "/api/v1/secrets/API_TOKEN", json{{"value", NewValue()}, {"description", "d"}});
  ASSERT_EQ(created.status, 201) << created.raw;
  auto rotated = api_->Call("PUT", "/api/v1/secrets/API_TOKEN", json{{"value", NewValue()}});
  ASSERT_EQ(rotated.status, 200) << rotated.raw;
  EXPECT_GT(rotated.body["revision"].get<uint64_t>(), created.body["revision"].get<uint64_t>());
  EXPECT_EQ(rotated.body["created_at"], created.body["created_at"]);
  EXPECT_EQ(rotated.body["description"], "d");
  ExpectNoValueField(rotated.body);
}

TEST_F(ApiSecretsTest, StaleIfMatchGets412AndChangesNothing) {
  auto c = api_->Call("PUT", "/api/v1/secrets/K", json{{"value", NewValue()}});
  uint64_t rev1 = c.body["revision"];
  auto u = api_->Call("PUT", "/api/v1/secrets/K", json{{"value", NewValue()}}, {{"If-Match", std::to_string(rev1)}});
  ASSERT_EQ(u.status, 200) << u.raw;
  uint64_t rev2 = u.body["revision"];
  auto stale =
      api_->Call("PUT", "/api/v1/secrets/K", json{{"value", NewValue()}}, {{"If-Match", std::to_string(rev1)}});
  EXPECT_EQ(stale.status, 412);
  EXPECT_EQ(stale.body["error"]["code"], "precondition_failed");
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/K").body["revision"], rev2);
  // Quoted ETag form is accepted too.
  auto quoted = api_->Call("PATCH", "/api/v1/secrets/K", json{{"description", "x"}},
                           {{"If-Match", "\"" + std::to_string(rev2) + "\""}});
  EXPECT_EQ(quoted.status, 200) << quoted.raw;
  auto stale_patch =
      api_->Call("PATCH", "/api/v1/secrets/K", json{{"description", "y"}}, {{"If-Match", std::to_string(rev2)}});
  EXPECT_EQ(stale_patch.status, 412);
  auto stale_delete = api_->Call("DELETE", "/api/v1/secrets/K", std::string(), {{"If-Match", std::to_string(rev2)}});
  EXPECT_EQ(stale_delete.status, 412);
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/K").body["description"], "x");
}

TEST_F(ApiSecretsTest, IfMatchOnMissingSecretGets412) {
  auto r = api_->Call("PUT", "/api/v1/secrets/NOPE", json{{"value", NewValue()}}, {{"If-Match", "5"}});
  EXPECT_EQ(r.status, 412);
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/NOPE").status, 404);
  EXPECT_EQ(api_->Call("DELETE", "/api/v1/secrets/NOPE", std::string(), {{"If-Match", "5"}}).status, 412);
}

TEST_F(ApiSecretsTest, PatchChangesOnlyDescriptionWithNewRevision) {
  auto c = api_->Call("POST", "/api/v1/secrets", json{{"name", "K"}, {"value", NewValue()}});
  auto p = api_->Call("PATCH", "/api/v1/secrets/K", json{{"description", "now described"}});
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_EQ(p.body["description"], "now described");
  EXPECT_GT(p.body["revision"].get<uint64_t>(), c.body["revision"].get<uint64_t>());
  EXPECT_EQ(api_->Call("PATCH", "/api/v1/secrets/MISSING", json{{"description", "x"}}).status, 404);
}

TEST_F(ApiSecretsTest, DeleteRemovesAndSecondDeleteIs404) {
  auto c = api_->Call("POST", "/api/v1/secrets", json{{"name", "K"}, {"value", NewValue()}});
  auto d = api_->Call("DELETE", "/api/v1/secrets/K", std::string(),
                      {{"If-Match", std::to_string(c.body["revision"].get<uint64_t>())}});
  EXPECT_EQ(d.status, 204);
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/K").status, 404);
  EXPECT_EQ(api_->Call("DELETE", "/api/v1/secrets/K").status, 404);
  // The name can be created again.
  EXPECT_EQ(api_->Call("POST", "/api/v1/secrets", json{{"name", "K"}, {"value", NewValue()}}).status, 201);
}

TEST_F(ApiSecretsTest, ListIsSortedByNameAndHoldsNoValues) {
  std::vector<std::string> values;
  for (const char* n : {"ZETA", "ALPHA", "_UNDER", "MID-dle"}) {
    values.push_back(NewValue());
    ASSERT_EQ(api_->Call("POST", "/api/v1/secrets", json{{"name", n}, {"value", values.back()}}).status, 201);
  }
  auto l = api_->Call("GET", "/api/v1/secrets");
  ASSERT_EQ(l.status, 200);
  std::vector<std::string> names;
  for (const auto& m : l.body["secrets"]) names.push_back(m["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"ALPHA", "MID-dle", "ZETA", "_UNDER"}));
  ExpectNoValueField(l.body);
  for (const auto& v : values) EXPECT_EQ(l.raw.find(v), std::string::npos);
}

TEST_F(ApiSecretsTest, EnvironmentsAreSeparateWorlds) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "staging"}}).status, 201);
  auto staging = ClientFor("staging");
  ASSERT_EQ(api_->Call("POST", "/api/v1/secrets", json{{"name", "STRIPE_KEY"}, {"value", NewValue()}}).status, 201);
  EXPECT_EQ(staging->Call("GET", "/api/v1/secrets/STRIPE_KEY").status, 404);
  EXPECT_TRUE(staging->Call("GET", "/api/v1/secrets").body["secrets"].empty());
  auto s = staging->Call("POST", "/api/v1/secrets",
                         json{{"name", "STRIPE_KEY"}, {"value", NewValue()}, {"description", "staging one"}});
  ASSERT_EQ(s.status, 201);
  EXPECT_EQ(s.body["environment"], "staging");
  EXPECT_EQ(staging->Call("DELETE", "/api/v1/secrets/STRIPE_KEY").status, 204);
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/STRIPE_KEY").status, 200);
}

TEST_F(ApiSecretsTest, TwoConcurrentWritersLoseNoUpdate) {
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/HOT", json{{"value", NewValue()}}).status, 201);
  std::mutex mu;
  std::set<uint64_t> revisions;
  auto writer = [&] {
    ApiClient client(server_->url(), server_->api_key());
    for (int i = 0; i < 40; ++i) {
      auto r = client.Call("PUT", "/api/v1/secrets/HOT", json{{"value", "v" + std::to_string(i)}});
      ASSERT_EQ(r.status, 200) << r.raw;
      std::lock_guard<std::mutex> lock(mu);
      EXPECT_TRUE(revisions.insert(r.body["revision"].get<uint64_t>()).second);
    }
  };
  std::thread a(writer), b(writer);
  a.join();
  b.join();
  EXPECT_EQ(revisions.size(), 80u) << "an update was lost or reported twice";
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/HOT").body["revision"].get<uint64_t>(), *revisions.rbegin());
}

TEST_F(ApiSecretsTest, RestartKeepsEverything) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "prod"}}).status, 201);
  auto prod = ClientFor("prod");
  auto c =
      prod->Call("POST", "/api/v1/secrets", json{{"name", "KEEP"}, {"value", NewValue()}, {"description", "kept"}});
  ASSERT_EQ(c.status, 201);
  std::string key = server_->api_key();
  server_->Stop();
  std::string error;
  ASSERT_TRUE(server_->Start(&error)) << error;
  EXPECT_EQ(server_->api_key(), key) << "the bootstrap key was recreated on restart";
  auto after = ClientFor("prod")->Call("GET", "/api/v1/secrets/KEEP");
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(after.body, c.body);
}

TEST_F(ApiSecretsTest, MissingOrWrongApiKeyGets401) {
  auto anon = ClientFor("default", "");
  anon->set_api_key("");
  auto r = anon->Call("GET", "/api/v1/secrets");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body["error"]["code"], "unauthenticated");
  auto wrong = ClientFor("default", "ifkey_00000000000000000000000000000000");
  EXPECT_EQ(wrong->Call("GET", "/api/v1/secrets").status, 401);
  auto junk = ClientFor("default", "not-a-key");
  EXPECT_EQ(junk->Call("POST", "/api/v1/secrets", json{{"name", "X"}, {"value", NewValue()}}).status, 401);
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/X").status, 404) << "an unauthenticated create took effect";
  // Health endpoints stay open.
  EXPECT_EQ(anon->Call("GET", "/healthz").status, 200);
}

TEST_F(ApiSecretsTest, BootstrapKeyFileIsOwnerOnly) {
  struct stat st {};
  ASSERT_EQ(stat((server_->options().data_dir + "/bootstrap_key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string key = server_->api_key();
  EXPECT_EQ(key.rfind("ifkey_", 0), 0u);
  EXPECT_EQ(key.size(), 38u);
  EXPECT_EQ(server_->log().find(key), std::string::npos) << "the API key was logged";
}

TEST_F(ApiSecretsTest, StatusReportsEncryptionAndNatsWithoutCredentials) {
  auto s = api_->Call("GET", "/api/v1/status");
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.body["encryption"]["enabled"], true);
  EXPECT_EQ(s.body["encryption"]["algorithm"], "AES-256-GCM");
  EXPECT_EQ(s.body["encryption"]["key_id"].get<std::string>().size(), 16u);
  EXPECT_EQ(s.raw.find(master_key_), std::string::npos);
  EXPECT_EQ(s.body["nats"]["connected"], true);
  EXPECT_EQ(api_->Call("GET", "/readyz").status, 200);
}

TEST_F(ApiSecretsTest, MetricsCountOperationsWithoutNamesOrValues) {
  std::string value = NewValue();
  ASSERT_EQ(api_->Call("POST", "/api/v1/secrets", json{{"name", "METRIC_SECRET_NAME"}, {"value", value}}).status, 201);
  auto m = api_->Call("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.raw.find("ironflow_secret_operations_total{operation=\"create\",result=\"ok\"} 1"), std::string::npos)
      << m.raw;
  EXPECT_NE(m.raw.find("route=\"/api/v1/secrets\""), std::string::npos);
  EXPECT_NE(m.raw.find("ironflow_nats_reconnects_total"), std::string::npos);
  EXPECT_EQ(m.raw.find("METRIC_SECRET_NAME"), std::string::npos);
  EXPECT_EQ(m.raw.find(value), std::string::npos);
}

}  // namespace
}  // namespace ironflow::server::testing
