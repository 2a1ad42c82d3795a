// Secret versions and rollback: the kept revisions are listed with who wrote them (never a value), and a
// rollback writes an old value again as a new revision, which is what the next run receives. A delete is
// recoverable while the history holds the old revision.
#include <gtest/gtest.h>

#include "support/api_fixture.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

class VersionsTest : public ApiTest {
 protected:
  uint64_t Set(const std::string& name, const std::string& value) {
    auto r = api_->Call("PUT", "/api/v1/secrets/" + name, json{{"value", value}});
    EXPECT_TRUE(r.status == 200 || r.status == 201) << r.raw;
    return r.body.value("revision", uint64_t{0});
  }
  // What a pull worker receives for `secret` on the next run of a function declaring it.
  std::string DeliveredValue(const std::string& secret) {
    const std::string fn = "reader_" + std::to_string(++runs_);
    EXPECT_EQ(
        api_->Call("POST", "/api/v1/functions",
                   json{{"id", fn}, {"triggers", {{{"event", fn + ".go"}}}}, {"secrets", {secret}}, {"mode", "pull"}})
            .status,
        201);
    EXPECT_EQ(api_->Call("POST", "/api/v1/workers/w/register",
                         json{{"function_ids", {fn}}, {"max_concurrent_jobs", 1}, {"lease_ms", 30000}})
                  .status,
              200);
    EXPECT_EQ(api_->Call("POST", "/api/v1/events", json{{"name", fn + ".go"}, {"data", json::object()}}).status, 202);
    auto jobs = api_->Call("GET", "/api/v1/workers/w/jobs?available=1&wait_ms=10000");
    if (jobs.status != 200) return "";
    json job = jobs.body["jobs"][0];
    api_->Call("PUT", "/api/v1/workers/w/jobs/" + job["job_id"].get<std::string>(),
               json{{"lease_token", job["lease_token"]},
                    {"status", "completed"},
                    {"output", nullptr},
                    {"steps", json::array()}});
    return job["context"]["secrets"].value(secret, "");
  }
  int runs_ = 0;
};

TEST_F(VersionsTest, VersionsListEveryKeptRevisionNewestFirstWithActorAndNoValue) {
  std::string v1 = NewValue(), v2 = NewValue();
  uint64_t r1 = Set("STRIPE_KEY", v1);
  uint64_t r2 = Set("STRIPE_KEY", v2);
  ASSERT_EQ(api_->Call("DELETE", "/api/v1/secrets/STRIPE_KEY").status, 204);
  auto r = api_->Call("GET", "/api/v1/secrets/STRIPE_KEY/versions");
  ASSERT_EQ(r.status, 200) << r.raw;
  const json& v = r.body["versions"];
  ASSERT_EQ(v.size(), 3u) << r.raw;
  EXPECT_TRUE(v[0]["deleted"].get<bool>());
  EXPECT_EQ(v[1]["revision"], r2);
  EXPECT_EQ(v[2]["revision"], r1);
  EXPECT_FALSE(v[1]["deleted"].get<bool>());
  EXPECT_TRUE(v[1]["encrypted"].get<bool>());
  EXPECT_TRUE(v[1]["key_id"].is_string());
  EXPECT_EQ(v[1]["actor"]["type"], "apikey");
  EXPECT_EQ(r.raw.find(v1), std::string::npos);
  EXPECT_EQ(r.raw.find(v2), std::string::npos);
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/NEVER/versions").status, 404);
}

TEST_F(VersionsTest, RollbackWritesTheOldValueAsANewRevisionThatTheNextRunReceives) {
  std::string good = NewValue(), bad = NewValue();
  uint64_t r1 = Set("STRIPE_KEY", good);
  uint64_t r2 = Set("STRIPE_KEY", bad);
  ASSERT_EQ(DeliveredValue("STRIPE_KEY"), bad);
  auto rb = api_->Call("POST", "/api/v1/secrets/STRIPE_KEY/rollback", json{{"revision", r1}});
  ASSERT_EQ(rb.status, 200) << rb.raw;
  EXPECT_GT(rb.body["revision"].get<uint64_t>(), r2) << "a rollback is a new revision, not a rewrite of history";
  EXPECT_EQ(rb.raw.find(good), std::string::npos);
  EXPECT_EQ(DeliveredValue("STRIPE_KEY"), good);
  // A stale If-Match is refused and changes nothing.
  EXPECT_EQ(api_->Call("POST", "/api/v1/secrets/STRIPE_KEY/rollback", json{{"revision", r2}},
                       {{"If-Match", std::to_string(r2)}})
                .status,
            412);
  EXPECT_EQ(DeliveredValue("STRIPE_KEY"), good);
}

TEST_F(VersionsTest, ADeletedSecretIsRecoverableByRollback) {
  std::string value = NewValue();
  uint64_t r1 = Set("DB_URL", value);
  ASSERT_EQ(api_->Call("DELETE", "/api/v1/secrets/DB_URL").status, 204);
  auto rb = api_->Call("POST", "/api/v1/secrets/DB_URL/rollback", json{{"revision", r1}});
  ASSERT_EQ(rb.status, 201) << rb.raw;
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/DB_URL").status, 200);
  EXPECT_EQ(DeliveredValue("DB_URL"), value);
}

TEST_F(VersionsTest, RollbackToAMissingOrMalformedRevisionIsRefused) {
  uint64_t r1 = Set("K", NewValue());
  ASSERT_EQ(api_->Call("DELETE", "/api/v1/secrets/K").status, 204);
  auto versions = api_->Call("GET", "/api/v1/secrets/K/versions");
  uint64_t marker = versions.body["versions"][0]["revision"];
  EXPECT_EQ(api_->Call("POST", "/api/v1/secrets/K/rollback", json{{"revision", marker}}).status, 404)
      << "a delete marker has no value";
  EXPECT_EQ(api_->Call("POST", "/api/v1/secrets/K/rollback", json{{"revision", r1 + 1000}}).status, 404);
  EXPECT_EQ(api_->Call("POST", "/api/v1/secrets/K/rollback", json{{"revision", 0}}).status, 400);
  EXPECT_EQ(api_->Call("POST", "/api/v1/secrets/K/rollback", json{{"revision", "1"}}).status, 400);
  EXPECT_EQ(api_->Call("POST", "/api/v1/secrets/K/rollback", json{{"rev", r1}}).status, 400);
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/K").status, 404) << "nothing was restored";
}

}  // namespace
}  // namespace ironflow::server::testing
