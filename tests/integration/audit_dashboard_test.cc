// The audit query answers "who changed what, when" for one environment without values; the dashboard's files are
// served from the binary with a strict Content-Security-Policy.
#include <gtest/gtest.h>

#include "support/api_fixture.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

class AuditTest : public ApiTest {};

TEST_F(AuditTest, AuditAnswersWhoRotatedASecretNewestFirstWithoutValues) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "staging"}}).status, 201);
  std::string v1 = NewValue(), v2 = NewValue(), other = NewValue();
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", v1}}).status, 201);
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", v2}}).status, 200);
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/UNRELATED", json{{"value", NewValue()}}).status, 201);
  ASSERT_EQ(ClientFor("staging")->Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", other}}).status, 201);
  ASSERT_EQ(api_->Call("PUT", "/api/v1/config/flags", json{{"data", {{"a", 1}}}}).status, 200);

  auto r = api_->Call("GET", "/api/v1/audit?kind=secret&name=STRIPE_KEY&since=1h");
  ASSERT_EQ(r.status, 200) << r.raw;
  const json& entries = r.body["entries"];
  ASSERT_EQ(entries.size(), 2u) << r.raw;  // staging's write and UNRELATED are not in the answer
  EXPECT_EQ(entries[0]["subject"], "system.secret.STRIPE_KEY.updated");
  EXPECT_EQ(entries[1]["subject"], "system.secret.STRIPE_KEY.created");
  EXPECT_GT(entries[0]["sequence"].get<uint64_t>(), entries[1]["sequence"].get<uint64_t>());
  EXPECT_EQ(entries[0]["event"]["environment"], "default");
  EXPECT_EQ(entries[0]["event"]["actor"]["type"], "apikey");
  EXPECT_FALSE(entries[0]["event"]["actor"]["name"].get<std::string>().empty());
  EXPECT_TRUE(entries[0]["time"].is_string());
  for (const auto& v : {v1, v2, other}) EXPECT_EQ(r.raw.find(v), std::string::npos);

  auto all = api_->Call("GET", "/api/v1/audit?limit=2");
  ASSERT_EQ(all.status, 200);
  ASSERT_EQ(all.body["entries"].size(), 2u);
  EXPECT_EQ(all.body["entries"][0]["subject"], "system.config.flags.updated") << "newest first";
  auto future = api_->Call("GET", "/api/v1/audit?since=2999-01-01T00:00:00Z");
  ASSERT_EQ(future.status, 200);
  EXPECT_TRUE(future.body["entries"].empty());

  for (std::string bad : {"kind=password", "name=X", "kind=secret&name=a.b", "since=yesterday", "limit=0", "limit=5001",
                          "since=2026-13-01T00:00:00Z"}) {
    EXPECT_EQ(api_->Call("GET", "/api/v1/audit?" + bad).status, 400) << bad;
  }
}

TEST_F(AuditTest, EnvironmentAndBucketChangesAreAuditedWithTheirActor) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "temp"}}).status, 201);
  auto temp = ClientFor("temp");
  ASSERT_EQ(temp->Call("POST", "/api/v1/kv/buckets", json{{"name", "cache"}}).status, 201);
  ASSERT_EQ(temp->Call("DELETE", "/api/v1/kv/buckets/cache").status, 204);
  auto kv = temp->Call("GET", "/api/v1/audit?kind=kv");
  ASSERT_EQ(kv.status, 200) << kv.raw;
  ASSERT_EQ(kv.body["entries"].size(), 2u) << kv.raw;
  EXPECT_EQ(kv.body["entries"][0]["subject"], "system.kv.cache.deleted");
  EXPECT_EQ(kv.body["entries"][1]["subject"], "system.kv.cache.created");
  EXPECT_EQ(kv.body["entries"][0]["event"]["actor"]["type"], "apikey");
  auto env = temp->Call("GET", "/api/v1/audit?kind=environment&name=temp");
  ASSERT_EQ(env.body["entries"].size(), 1u) << env.raw;
  EXPECT_EQ(env.body["entries"][0]["subject"], "system.environment.temp.created");
}

TEST_F(AuditTest, DashboardIsServedFromTheBinaryWithAStrictContentSecurityPolicy) {
  ApiClient anonymous(server_->url(), "");
  auto page = anonymous.Call("GET", "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.raw.find("/ui/main.js"), std::string::npos);
  std::string csp = page.header("content-security-policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  auto js = anonymous.Call("GET", "/ui/main.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(anonymous.Call("GET", "/ui/missing.js").status, 404);
  EXPECT_EQ(anonymous.Call("GET", "/ui/..%2Fsecret").status, 404);
  // The page itself holds no data: the API behind it still needs a key.
  EXPECT_EQ(anonymous.Call("GET", "/api/v1/secrets").status, 401);
}

}  // namespace
}  // namespace ironflow::server::testing
