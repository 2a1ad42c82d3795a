// Least privilege for worker and manager keys: allow-lists of function ids and secret names bound what a key can
// register, serve and receive; every delivery of a secret is in the audit trail under the key that leased it.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "store/kv_bucket.h"
#include "support/api_fixture.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

class LeastPrivilegeTest : public ApiTest {
 protected:
  // A worker key of environment "default" with the given allow-lists; returns a client using it.
  std::unique_ptr<ApiClient> WorkerKey(const json& functions, const json& secrets, std::string* id = nullptr) {
    auto r = api_->Call("POST", "/api/v1/apikeys",
                        json{{"name", "w"},
                             {"role", "worker"},
                             {"environment", "default"},
                             {"functions", functions},
                             {"secrets", secrets}});
    EXPECT_EQ(r.status, 201) << r.raw;
    if (id) *id = r.body.value("id", "");
    return ClientFor("default", r.body.value("key", ""));
  }
  static json Function(const std::string& id, const std::vector<std::string>& secrets) {
    return json{{"id", id}, {"triggers", {{{"event", id + ".requested"}}}}, {"secrets", secrets}, {"mode", "pull"}};
  }
};

TEST_F(LeastPrivilegeTest, NewWorkerKeysMustBeGivenTheirAllowListsAndPatternsAreNamesWithStarsOnly) {
  auto missing =
      api_->Call("POST", "/api/v1/apikeys", json{{"name", "w"}, {"role", "worker"}, {"environment", "default"}});
  EXPECT_EQ(missing.status, 400) << missing.raw;
  EXPECT_NE(missing.raw.find("allow-lists"), std::string::npos) << missing.raw;
  auto bad = api_->Call("POST", "/api/v1/apikeys",
                        json{{"name", "w"},
                             {"role", "worker"},
                             {"environment", "default"},
                             {"functions", {"pay?out"}},
                             {"secrets", {"*"}}});
  EXPECT_EQ(bad.status, 400) << bad.raw;
  auto reader = api_->Call("POST", "/api/v1/apikeys",
                           json{{"name", "r"}, {"role", "reader"}, {"environment", "default"}, {"secrets", {"*"}}});
  EXPECT_EQ(reader.status, 400) << "a reader key cannot carry allow-lists it would never use";
  auto manager =
      api_->Call("POST", "/api/v1/apikeys", json{{"name", "m"}, {"role", "manager"}, {"environment", "default"}});
  ASSERT_EQ(manager.status, 201);
  EXPECT_EQ(manager.body["secrets"], json::array({"*"})) << "a manager key without lists covers everything, explicitly";
}

TEST_F(LeastPrivilegeTest, RegisteringOutsideTheKeysListsIs403NamingTheSecretAndNeverWidensAFunction) {
  auto worker = WorkerKey({"payout"}, {"STRIPE_*"});
  EXPECT_EQ(worker->Call("POST", "/api/v1/functions", Function("payout", {"STRIPE_KEY", "STRIPE_WEBHOOK"})).status,
            201);
  auto widened = worker->Call("POST", "/api/v1/functions", Function("payout", {"STRIPE_KEY", "DB_PASSWORD"}));
  EXPECT_EQ(widened.status, 403) << widened.raw;
  EXPECT_NE(widened.raw.find("DB_PASSWORD"), std::string::npos) << widened.raw;
  auto stored = api_->Call("GET", "/api/v1/functions/payout");
  ASSERT_EQ(stored.status, 200);
  EXPECT_EQ(stored.body["secrets"].size(), 2u) << "a refused re-registration changed the function: " << stored.raw;
  EXPECT_EQ(worker->Call("POST", "/api/v1/functions", Function("refund", {})).status, 403);
  auto serve_other = worker->Call("POST", "/api/v1/workers/w1/register", json{{"function_ids", {"refund"}}});
  EXPECT_EQ(serve_other.status, 403) << serve_other.raw;
  // `*` matches name characters only: STRIPE_* does not cover a name that merely starts alike elsewhere.
  EXPECT_EQ(worker->Call("POST", "/api/v1/functions", Function("payout", {"XSTRIPE_KEY"})).status, 403);
}

TEST_F(LeastPrivilegeTest, JobsGoOnlyToKeysCoveringTheFunctionAndItsSecretsAndEachDeliveryIsAudited) {
  const std::string db_password = NewValue();
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/DB_PASSWORD", json{{"value", db_password}}).status, 201);
  ASSERT_EQ(api_->Call("POST", "/api/v1/functions", Function("billing", {"DB_PASSWORD"})).status, 201);
  auto narrow = WorkerKey({"*"}, {"STRIPE_*"});
  std::string wide_id;
  auto wide = WorkerKey({"billing"}, {"DB_*"}, &wide_id);
  ASSERT_EQ(narrow->Call("POST", "/api/v1/workers/narrow/register", json{{"function_ids", {"billing"}}}).status, 200);
  ASSERT_EQ(wide->Call("POST", "/api/v1/workers/wide/register", json{{"function_ids", {"billing"}}}).status, 200);
  auto emitted = api_->Call("POST", "/api/v1/events", json{{"name", "billing.requested"}, {"data", json::object()}});
  ASSERT_EQ(emitted.status, 202);
  const std::string run_id = emitted.body["run_ids"][0];

  // Waits a second (the run is pending the whole time) and still gets nothing.
  auto refused = narrow->Call("GET", "/api/v1/workers/narrow/jobs?available=1&wait_ms=1000");
  EXPECT_EQ(refused.status, 204) << "a key whose secrets list misses DB_PASSWORD received the job: " << refused.raw;
  EXPECT_EQ(refused.raw.find(db_password), std::string::npos);
  auto got = wide->Call("GET", "/api/v1/workers/wide/jobs?available=1&wait_ms=5000");
  ASSERT_EQ(got.status, 200) << got.raw;
  ASSERT_EQ(got.body["jobs"].size(), 1u);
  EXPECT_EQ(got.body["jobs"][0]["context"]["secrets"]["DB_PASSWORD"], db_password);

  // The audit trail says who received DB_PASSWORD: revision, run, attempt, function, worker, key; never the value.
  json entry;
  for (int i = 0; i < 50 && entry.is_null(); ++i) {
    auto audit = api_->Call("GET", "/api/v1/audit?kind=access&name=DB_PASSWORD");
    ASSERT_EQ(audit.status, 200) << audit.raw;
    EXPECT_EQ(audit.raw.find(db_password), std::string::npos) << "a value reached the audit trail";
    if (!audit.body["entries"].empty())
      entry = audit.body["entries"][0]["event"];
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the audit publish is asynchronous
  }
  ASSERT_TRUE(entry.is_object()) << "no access event for DB_PASSWORD";
  EXPECT_EQ(entry["type"], "access.delivered");
  EXPECT_EQ(entry["run_id"], run_id);
  EXPECT_EQ(entry["attempt"], 1);
  EXPECT_EQ(entry["function_id"], "billing");
  EXPECT_EQ(entry["worker_id"], "wide");
  EXPECT_EQ(entry["actor"]["id"], wide_id);
  EXPECT_TRUE(entry["revision"].is_number_unsigned() && entry["revision"].get<uint64_t>() > 0);
}

TEST_F(LeastPrivilegeTest, KeysFromBeforeAllowListsBehaveAsStarAndAreFlaggedInTheList) {
  std::string id;
  auto worker = WorkerKey({"payout"}, {"STRIPE_*"}, &id);
  // Rewrite the stored record as an older version wrote it (no lists), around the API.
  auto nc = nats_.Connect();
  auto auth = KvBucket::Open(*nc, "ironflow-auth");
  ASSERT_TRUE(auth.ok());
  auto entries = (*auth)->List("apikeys.*");
  ASSERT_TRUE(entries.ok());
  bool rewritten = false;
  for (const auto& e : *entries) {
    json doc = json::parse(e.value);
    if (doc.value("id", "") != id) continue;
    doc.erase("functions");
    doc.erase("secrets");
    ASSERT_TRUE((*auth)->Update(e.key, doc.dump(), e.revision).ok());
    rewritten = true;
  }
  ASSERT_TRUE(rewritten);
  // The key was never used before the rewrite, so no server has it cached: its first use reads the old record.
  EXPECT_EQ(worker->Call("POST", "/api/v1/functions", Function("anything", {"DB_PASSWORD"})).status, 201);
  auto list = api_->Call("GET", "/api/v1/apikeys");
  bool flagged = false;
  for (const auto& k : list.body["apikeys"]) {
    if (k["id"] == id) flagged = k["legacy_scope"] == true && k["secrets"] == json::array({"*"});
  }
  EXPECT_TRUE(flagged) << list.raw;
  auto cli = RunIronflow({"apikey", "list", "-s", server_->url(), "--api-key", server_->api_key()});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_NE(cli.out.find("legacy"), std::string::npos) << cli.out;
}

}  // namespace
}  // namespace ironflow::server::testing
