// The runtime plane end to end: a real `ironflow serve` on a real nats-server; the test plays the pull-mode
// worker over HTTP (the SDK has its own tests) and a push-mode app (an in-process HTTP server that checks the
// signature like the SDK does).
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/hex.h"
#include "common/time_util.h"
#include "http/http_server.h"
#include "runtime/ids.h"
#include "runtime/run_store.h"
#include "runtime/signing.h"
#include "store/kv_bucket.h"
#include "support/api_fixture.h"
#include "support/pull_workers.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

class RuntimeTest : public ApiTest {
 protected:
  void RegisterPull(const std::string& id, const std::vector<std::string>& secrets, json retry = json::object(),
                    const std::string& trigger = "payout.requested", ApiClient* client = nullptr) {
    json body = {{"id", id}, {"triggers", {{{"event", trigger}}}}, {"secrets", secrets}, {"mode", "pull"}};
    if (!retry.empty()) body["retry"] = retry;
    auto r = (client ? client : api_.get())->Call("POST", "/api/v1/functions", body);
    ASSERT_TRUE(r.status == 201 || r.status == 200) << r.raw;
  }
  void RegisterWorker(const std::string& worker, const std::vector<std::string>& fns, int lease_ms = 30000,
                      ApiClient* client = nullptr) {
    auto r = (client ? client : api_.get())
                 ->Call("POST", "/api/v1/workers/" + worker + "/register",
                        json{{"function_ids", fns}, {"max_concurrent_jobs", 4}, {"lease_ms", lease_ms}});
    ASSERT_EQ(r.status, 200) << r.raw;
  }
  std::string Emit(const std::string& name, json data, ApiClient* client = nullptr) {
    auto r = (client ? client : api_.get())->Call("POST", "/api/v1/events", json{{"name", name}, {"data", data}});
    EXPECT_EQ(r.status, 202) << r.raw;
    if (r.status != 202 || r.body["run_ids"].empty()) return "";
    return r.body["run_ids"][0];
  }
  // Long-polls until one job arrives (bounded).
  json NextJob(const std::string& worker, ApiClient* client = nullptr, int wait_ms = 10000) {
    auto r = (client ? client : api_.get())
                 ->Call("GET", "/api/v1/workers/" + worker + "/jobs?available=1&wait_ms=" + std::to_string(wait_ms));
    if (r.status != 200) return json();
    return r.body["jobs"][0];
  }
  ApiClient::Response Finish(const std::string& worker, const json& job, json result, ApiClient* client = nullptr) {
    result["lease_token"] = job["lease_token"];
    return (client ? client : api_.get())
        ->Call("PUT", "/api/v1/workers/" + worker + "/jobs/" + job["job_id"].get<std::string>(), result);
  }
  // Polls the run (bounded) until its status is `want`.
  json WaitRun(const std::string& run_id, const std::string& want, ApiClient* client = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    json last;
    while (std::chrono::steady_clock::now() < deadline) {
      last = (client ? client : api_.get())->Call("GET", "/api/v1/runs/" + run_id).body;
      if (last.is_object() && last["status"] == want) return last;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "run " << run_id << " never reached " << want << "; last: " << last.dump();
    return last;
  }
  // A "payout" function declaring STRIPE_KEY, one event, and the job leased to `worker` (null json if none came).
  json LeasePayoutJob(const std::string& worker, std::string* run_id) {
    SetSecret("STRIPE_KEY", NewValue());
    RegisterPull("payout", {"STRIPE_KEY"});
    RegisterWorker(worker, {"payout"});
    *run_id = Emit("payout.requested", json::object());
    return NextJob(worker);
  }
  void SetSecret(const std::string& name, const std::string& value, ApiClient* client = nullptr) {
    auto r = (client ? client : api_.get())->Call("PUT", "/api/v1/secrets/" + name, json{{"value", value}});
    ASSERT_TRUE(r.status == 200 || r.status == 201) << r.raw;
  }
};

TEST_F(RuntimeTest, PullWorkerReceivesExactlyTheDeclaredSecretsAndOutputIsRedacted) {
  std::string stripe = NewValue(), unrelated = NewValue();
  SetSecret("STRIPE_KEY", stripe);
  SetSecret("UNRELATED", unrelated);
  RegisterPull("payout", {"STRIPE_KEY"});
  RegisterWorker("w1", {"payout"});
  std::string run_id = Emit("payout.requested", {{"amount", 100}});
  ASSERT_FALSE(run_id.empty());

  json job = NextJob("w1");
  ASSERT_TRUE(job.is_object()) << "no job delivered";
  EXPECT_EQ(job["run_id"], run_id);
  EXPECT_EQ(job["attempt"], 1);
  EXPECT_EQ(job["event"]["name"], "payout.requested");
  EXPECT_EQ(job["event"]["data"]["amount"], 100);
  EXPECT_EQ(job["context"]["secrets"], json({{"STRIPE_KEY", stripe}}));
  EXPECT_EQ(job.dump().find(unrelated), std::string::npos);

  auto done = Finish("w1", job,
                     {{"status", "completed"},
                      {"output", {{"echo", "used " + stripe + " and " + stripe}}},
                      {"steps", {{{"id", "charge"}, {"output", {{"key", stripe}}}}}}});
  ASSERT_EQ(done.status, 200) << done.raw;
  json run = WaitRun(run_id, "completed");
  EXPECT_EQ(run["output"]["echo"], "used [REDACTED:STRIPE_KEY] and [REDACTED:STRIPE_KEY]");
  EXPECT_EQ(run["steps"][0]["output"]["key"], "[REDACTED:STRIPE_KEY]");
  EXPECT_EQ(run.dump().find(stripe), std::string::npos);
  // The lease is spent: a second result for the same job is refused.
  EXPECT_EQ(Finish("w1", job, {{"status", "completed"}}).status, 409);
}

TEST_F(RuntimeTest, EachEnvironmentDeliversItsOwnValue) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "production"}}).status, 201);
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "staging"}}).status, 201);
  auto prod = ClientFor("production"), staging = ClientFor("staging");
  std::string prod_value = NewValue(), staging_value = NewValue();
  SetSecret("STRIPE_KEY", prod_value, prod.get());
  SetSecret("STRIPE_KEY", staging_value, staging.get());
  for (auto* c : {prod.get(), staging.get()}) {
    RegisterPull("payout", {"STRIPE_KEY"}, json::object(), "payout.requested", c);
    RegisterWorker("w", {"payout"}, 30000, c);
  }
  std::string prod_run = Emit("payout.requested", {{"n", 1}}, prod.get());
  json job = NextJob("w", prod.get());
  ASSERT_TRUE(job.is_object());
  EXPECT_EQ(job["context"]["secrets"]["STRIPE_KEY"], prod_value);
  // The staging worker sees nothing of production's run, and cannot read it.
  auto none = staging->Call("GET", "/api/v1/workers/w/jobs?available=1&wait_ms=0");
  EXPECT_EQ(none.status, 204);
  EXPECT_EQ(staging->Call("GET", "/api/v1/runs/" + prod_run).status, 404);
  Emit("payout.requested", {{"n", 2}}, staging.get());
  json sjob = NextJob("w", staging.get());
  ASSERT_TRUE(sjob.is_object());
  EXPECT_EQ(sjob["context"]["secrets"]["STRIPE_KEY"], staging_value);
  // A staging worker cannot finish production's job.
  auto cross = staging->Call("PUT", "/api/v1/workers/w/jobs/" + job["job_id"].get<std::string>(),
                             json{{"lease_token", job["lease_token"]}, {"status", "completed"}});
  EXPECT_EQ(cross.status, 409);
}

TEST_F(RuntimeTest, DeclaredButUnsetSecretFailsTheAttemptUntilItIsSet) {
  RegisterPull("payout", {"STRIPE_KEY"}, {{"max_attempts", 5}, {"initial_delay_ms", 200}, {"backoff_factor", 1.0}});
  RegisterWorker("w1", {"payout"});
  auto fn = api_->Call("GET", "/api/v1/functions/payout");
  EXPECT_EQ(fn.body["secrets"], json::parse(R"([{"name":"STRIPE_KEY","set":false}])"));
  std::string run_id = Emit("payout.requested", json::object());
  // The first attempt fails before any worker sees it, with the exact message.
  EXPECT_EQ(NextJob("w1", nullptr, 100), json());
  json run = WaitRun(run_id, "queued");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!run["error"].is_string() && std::chrono::steady_clock::now() < deadline) {
    run = api_->Call("GET", "/api/v1/runs/" + run_id).body;
  }
  EXPECT_EQ(run["error"],
            "secret \"STRIPE_KEY\" declared by function \"payout\" is not set in environment \"default\"");
  std::string value = NewValue();
  SetSecret("STRIPE_KEY", value);
  json job = NextJob("w1");
  ASSERT_TRUE(job.is_object());
  EXPECT_GE(job["attempt"].get<int>(), 2);
  EXPECT_EQ(job["context"]["secrets"]["STRIPE_KEY"], value);
  ASSERT_EQ(Finish("w1", job, {{"status", "completed"}, {"output", 1}}).status, 200);
  WaitRun(run_id, "completed");
}

TEST_F(RuntimeTest, FunctionsShowWhichDeclaredSecretsAreSetInTheirOwnEnvironment) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "staging"}}).status, 201);
  auto staging = ClientFor("staging");
  SetSecret("ONLY_HERE", NewValue());
  SetSecret("ONLY_IN_STAGING", NewValue(), staging.get());
  RegisterPull("a", {"ONLY_HERE", "ONLY_IN_STAGING"});
  RegisterPull("b", {"ONLY_IN_STAGING"}, json::object(), "other.event");
  const json a = json::parse(R"([{"name":"ONLY_HERE","set":true},{"name":"ONLY_IN_STAGING","set":false}])");
  const json b = json::parse(R"([{"name":"ONLY_IN_STAGING","set":false}])");
  EXPECT_EQ(api_->Call("GET", "/api/v1/functions/a").body["secrets"], a);
  auto list = api_->Call("GET", "/api/v1/functions");
  ASSERT_EQ(list.status, 200) << list.raw;
  std::map<std::string, json> by_id;
  for (const auto& f : list.body["functions"]) by_id[f["id"]] = f["secrets"];
  EXPECT_EQ(by_id["a"], a);
  EXPECT_EQ(by_id["b"], b);
}

TEST_F(RuntimeTest, RotationBetweenAttemptsIsPickedUpAndBothValuesAreRedacted) {
  std::string v1 = NewValue(), v2 = NewValue();
  SetSecret("STRIPE_KEY", v1);
  RegisterPull("payout", {"STRIPE_KEY"}, {{"max_attempts", 3}, {"initial_delay_ms", 0}});
  RegisterWorker("w1", {"payout"});
  std::string run_id = Emit("payout.requested", json::object());
  json first = NextJob("w1");
  ASSERT_TRUE(first.is_object());
  EXPECT_EQ(first["context"]["secrets"]["STRIPE_KEY"], v1);
  SetSecret("STRIPE_KEY", v2);  // rotated while attempt 1 runs
  ASSERT_EQ(
      Finish("w1", first,
             {{"status", "failed"}, {"error", {{"message", "card declined with key " + v1}, {"retryable", true}}}})
          .status,
      200);
  json second = NextJob("w1");
  ASSERT_TRUE(second.is_object());
  EXPECT_EQ(second["attempt"], 2);
  EXPECT_EQ(second["context"]["secrets"]["STRIPE_KEY"], v2);
  json run = api_->Call("GET", "/api/v1/runs/" + run_id).body;
  EXPECT_EQ(run["error"], "card declined with key [REDACTED:STRIPE_KEY]") << "attempt 1's (old) value was not redacted";
  ASSERT_EQ(Finish("w1", second, {{"status", "failed"}, {"error", {{"message", "final " + v2}, {"retryable", false}}}})
                .status,
            200);
  run = WaitRun(run_id, "failed");
  EXPECT_EQ(run["error"], "final [REDACTED:STRIPE_KEY]");
  EXPECT_EQ(run["attempt"], 2) << "a non-retryable error must not be retried";
}

TEST_F(RuntimeTest, CompletedStepsAreMemoizedAcrossRetries) {
  RegisterPull("payout", {}, {{"max_attempts", 3}, {"initial_delay_ms", 0}});
  RegisterWorker("w1", {"payout"});
  std::string run_id = Emit("payout.requested", json::object());
  json first = NextJob("w1");
  ASSERT_TRUE(first.is_object());
  EXPECT_TRUE(first["steps"].empty());
  ASSERT_EQ(Finish("w1", first,
                   {{"status", "failed"},
                    {"error", {{"message", "network"}}},
                    {"steps", {{{"id", "charge"}, {"output", {{"charge_id", "ch_1"}}}}}}})
                .status,
            200);
  json second = NextJob("w1");
  ASSERT_TRUE(second.is_object());
  ASSERT_EQ(second["steps"].size(), 1u);
  EXPECT_EQ(second["steps"][0]["id"], "charge");
  EXPECT_EQ(second["steps"][0]["output"]["charge_id"], "ch_1");
  ASSERT_EQ(Finish("w1", second,
                   {{"status", "completed"},
                    {"output", "ok"},
                    {"steps",
                     {{{"id", "charge"}, {"output", {{"charge_id", "ch_1"}}}}, {{"id", "email"}, {"output", true}}}}})
                .status,
            200);
  json run = WaitRun(run_id, "completed");
  ASSERT_EQ(run["steps"].size(), 2u);
}

TEST_F(RuntimeTest, LostWorkerLeaseExpiresAndTheJobIsRedelivered) {
  SetSecret("STRIPE_KEY", NewValue());
  RegisterPull("payout", {"STRIPE_KEY"}, {{"max_attempts", 3}, {"initial_delay_ms", 0}});
  RegisterWorker("crashy", {"payout"}, /*lease_ms=*/600);
  RegisterWorker("healthy", {"payout"});
  std::string run_id = Emit("payout.requested", json::object());
  json lost = NextJob("crashy");
  ASSERT_TRUE(lost.is_object());
  // "crashy" never answers. After its lease expires the scheduler fails the attempt and re-queues the run.
  json redelivered = NextJob("healthy", nullptr, 15000);
  ASSERT_TRUE(redelivered.is_object()) << "the job was not redelivered after the lease expired";
  EXPECT_EQ(redelivered["attempt"], 2);
  EXPECT_EQ(Finish("crashy", lost, {{"status", "completed"}}).status, 409) << "an expired lease was honoured";
  ASSERT_EQ(Finish("healthy", redelivered, {{"status", "completed"}, {"output", "done"}}).status, 200);
  json run = WaitRun(run_id, "completed");
  EXPECT_EQ(run["attempt"], 2);
}

TEST_F(RuntimeTest, CiphertextCopiedToAnotherNameFailsResolutionInsteadOfDeliveringIt) {
  std::string real = NewValue(), decoy = NewValue();
  SetSecret("STRIPE_KEY", real);
  SetSecret("DECOY", decoy);
  // Go around the API: overwrite DECOY's KV entry with STRIPE_KEY's sealed bytes.
  auto nc = nats_.Connect();
  auto bucket = KvBucket::OpenOrCreate(*nc, {"ironflow-secrets", "", 10, 1, -1});
  ASSERT_TRUE(bucket.ok());
  auto src = (*bucket)->Get("default.STRIPE_KEY");
  auto dst = (*bucket)->Get("default.DECOY");
  ASSERT_TRUE((*bucket)->Update("default.DECOY", (*src)->value, (*dst)->revision).ok());

  RegisterPull("uses-decoy", {"DECOY"}, {{"max_attempts", 1}}, "decoy.used");
  RegisterWorker("w1", {"uses-decoy"});
  std::string run_id = Emit("decoy.used", json::object());
  EXPECT_EQ(NextJob("w1", nullptr, 300), json()) << "a job was delivered with a moved ciphertext";
  json run = WaitRun(run_id, "failed");
  EXPECT_NE(run["error"].get<std::string>().find("failed to authenticate"), std::string::npos) << run.dump();
  EXPECT_EQ(run.dump().find(real), std::string::npos);
}

TEST_F(RuntimeTest, RotatingASecretTriggersFunctionsListeningForIt) {
  RegisterPull("on-rotate", {}, json::object(), "system.secret.*.updated");
  RegisterWorker("w1", {"on-rotate"});
  SetSecret("STRIPE_KEY", NewValue());  // created: does not match *.updated
  SetSecret("STRIPE_KEY", NewValue());  // updated
  json job = NextJob("w1");
  ASSERT_TRUE(job.is_object());
  EXPECT_EQ(job["event"]["name"], "system.secret.STRIPE_KEY.updated");
  EXPECT_EQ(job["event"]["data"]["name"], "STRIPE_KEY");
  EXPECT_EQ(job["event"]["data"]["environment"], "default");
  EXPECT_EQ(NextJob("w1", nullptr, 200), json()) << "the create event triggered the function too";
}

TEST_F(RuntimeTest, BadRuntimeRequestsGetClearErrors) {
  EXPECT_EQ(api_->Call("POST", "/api/v1/events", json{{"name", "system.secret.X.updated"}, {"data", 1}}).status, 400);
  EXPECT_EQ(api_->Call("POST", "/api/v1/events", json{{"name", "bad name"}, {"data", 1}}).status, 400);
  EXPECT_EQ(api_->Call("POST", "/api/v1/events", json{{"name", "a..b"}, {"data", 1}}).status, 400);
  EXPECT_EQ(api_->Call("POST", "/api/v1/events", json{{"name", "ok"}}).status, 400);
  EXPECT_EQ(api_->Call("POST", "/api/v1/events", json{{"name", "ok"}, {"data", std::string(600 * 1024, 'x')}}).status,
            413);
  EXPECT_EQ(
      api_->Call("POST", "/api/v1/functions", json{{"id", "Bad"}, {"triggers", {{{"event", "x"}}}}, {"mode", "pull"}})
          .status,
      400);
  EXPECT_EQ(
      api_->Call("POST", "/api/v1/functions", json{{"id", "f"}, {"triggers", json::array()}, {"mode", "pull"}}).status,
      400);
  EXPECT_EQ(
      api_->Call("POST", "/api/v1/functions", json{{"id", "f"}, {"triggers", {{{"event", "x"}}}}, {"mode", "push"}})
          .status,
      400);
  EXPECT_EQ(api_->Call("POST", "/api/v1/functions",
                       json{{"id", "f"}, {"triggers", {{{"event", "x"}}}}, {"mode", "pull"}, {"secrets", {"bad.name"}}})
                .status,
            400);
  EXPECT_EQ(
      api_->Call(
              "POST", "/api/v1/functions",
              json{{"id", "f"}, {"triggers", {{{"event", "x"}}}}, {"mode", "pull"}, {"retry", {{"max_attempts", 0}}}})
          .status,
      400);
  EXPECT_EQ(api_->Call("GET", "/api/v1/functions").body["functions"], json::array())
      << "a rejected registration was stored";
  EXPECT_EQ(api_->Call("GET", "/api/v1/workers/ghost/jobs").status, 404);
  EXPECT_EQ(api_->Call("GET", "/api/v1/runs/run_nope").status, 404);
  EXPECT_EQ(api_->Call("GET", "/api/v1/runs?status=weird").status, 400);
  EXPECT_EQ(ClientFor("nowhere")->Call("POST", "/api/v1/events", json{{"name", "ok"}, {"data", 1}}).status, 404);
}

// A push-mode app: verifies the signature, records what it received, and answers with `reply`.
class FakePushApp {
 public:
  FakePushApp(std::vector<uint8_t> key, int status, json reply)
      : key_(std::move(key)), status_(status), reply_(std::move(reply)) {
    server_ = std::make_unique<HttpServer>(HttpServer::Options{"127.0.0.1", 0, 4}, [this](const HttpRequest& req) {
      HttpResponse res;
      bool valid = VerifySignatureHeader(
          req.header("x-ironflow-signature").value_or(""), key_, req.body,
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
              .count());
      std::lock_guard<std::mutex> lock(mu_);
      received_.emplace_back(req.header("x-ironflow-signature").value_or(""), req.body);
      if (!valid) {
        ++bad_signatures_;
        res.status = 401;
        res.body = R"({"error":{"code":"unauthenticated","message":"bad signature"}})";
        return res;
      }
      calls_.push_back(json::parse(req.body));
      res.status = status_;
      res.body = reply_.dump();
      return res;
    });
    EXPECT_TRUE(server_->Start().ok());
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/api/ironflow"; }
  std::vector<json> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  // Every request's (X-Ironflow-Signature, body), valid or not.
  std::vector<std::pair<std::string, std::string>> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  std::vector<uint8_t> key_;
  int status_;
  json reply_;
  std::mutex mu_;
  std::vector<json> calls_;
  std::vector<std::pair<std::string, std::string>> received_;
  int bad_signatures_ = 0;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(RuntimeTest, PushModeSignsTheCallAndDeliversOnlyDeclaredSecrets) {
  auto key_hex = api_->Call("GET", "/api/v1/signing-key").body["signing_key"].get<std::string>();
  ASSERT_EQ(key_hex.size(), 64u);
  std::string stripe = NewValue(), other = NewValue();
  SetSecret("STRIPE_KEY", stripe);
  SetSecret("OTHER", other);
  FakePushApp app(*HexDecode(key_hex), 200, {{"status", "completed"}, {"output", {{"seen", "key=" + stripe}}}});
  auto reg = api_->Call("POST", "/api/v1/functions",
                        json{{"id", "payout"},
                             {"triggers", {{{"event", "payout.requested"}}}},
                             {"secrets", {"STRIPE_KEY"}},
                             {"mode", "push"},
                             {"url", app.url()}});
  ASSERT_EQ(reg.status, 201) << reg.raw;
  std::string run_id = Emit("payout.requested", {{"amount", 7}});
  json run = WaitRun(run_id, "completed");
  EXPECT_EQ(run["output"]["seen"], "key=[REDACTED:STRIPE_KEY]");
  auto calls = app.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["secrets"], json({{"STRIPE_KEY", stripe}}));
  EXPECT_EQ(calls[0]["event"]["data"]["amount"], 7);
  EXPECT_EQ(calls[0]["run_id"], run_id);
  EXPECT_FALSE(calls[0].contains("lease_token"));
}

TEST_F(RuntimeTest, PushAppThatRejectsTheSignatureIsRetriedThenFails) {
  FakePushApp app(std::vector<uint8_t>(32, 7) /* not the server's key */, 200, {{"status", "completed"}});
  api_->Call("POST", "/api/v1/functions",
             json{{"id", "payout"},
                  {"triggers", {{{"event", "payout.requested"}}}},
                  {"mode", "push"},
                  {"url", app.url()},
                  {"retry", {{"max_attempts", 2}, {"initial_delay_ms", 0}}}});
  std::string run_id = Emit("payout.requested", json::object());
  json run = WaitRun(run_id, "failed");
  EXPECT_EQ(run["attempt"], 2) << "401 must be retried";
  EXPECT_NE(run["error"].get<std::string>().find("401"), std::string::npos);
  EXPECT_TRUE(app.calls().empty()) << "the app ran the function without a valid signature";
}

// `ironflow signing-key rotate`: during the grace window every push request carries a v1 signature by the new key
// and one by the old key, so apps still on the old key keep working; with no grace the old key stops at once.
// Rotations are admin actions in the all-environments audit trail.
TEST_F(RuntimeTest, SigningKeyRotationSignsWithBothKeysOnlyDuringTheGraceWindow) {
  const std::string old_hex = api_->Call("GET", "/api/v1/signing-key").body["signing_key"];
  FakePushApp app_on_old_key(*HexDecode(old_hex), 200, {{"status", "completed"}});
  ASSERT_EQ(api_->Call("POST", "/api/v1/functions",
                       json{{"id", "payout"},
                            {"triggers", {{{"event", "payout.requested"}}}},
                            {"mode", "push"},
                            {"url", app_on_old_key.url()},
                            {"retry", {{"max_attempts", 1}}}})
                .status,
            201);

  auto rotated = api_->Call("POST", "/api/v1/signing-key/rotate", json{{"grace_seconds", 3600}});
  ASSERT_EQ(rotated.status, 200) << rotated.raw;
  const std::string new_hex = rotated.body["signing_key"];
  ASSERT_EQ(new_hex.size(), 64u);
  EXPECT_NE(new_hex, old_hex);
  EXPECT_TRUE(rotated.body["previous_valid_until"].is_string()) << rotated.raw;
  auto shown = api_->Call("GET", "/api/v1/signing-key");
  EXPECT_EQ(shown.body["signing_key"], new_hex);
  EXPECT_TRUE(shown.body["previous_valid_until"].is_string()) << shown.raw;

  WaitRun(Emit("payout.requested", json::object()), "completed");  // the app on the old key still accepts
  auto received = app_on_old_key.received();
  ASSERT_EQ(received.size(), 1u);
  const auto& [header, body] = received[0];
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_TRUE(VerifySignatureHeader(header, *HexDecode(new_hex), body, now)) << "no signature by the new key";
  EXPECT_TRUE(VerifySignatureHeader(header, *HexDecode(old_hex), body, now)) << "no signature by the old key";

  auto immediate = api_->Call("POST", "/api/v1/signing-key/rotate", json{{"grace_seconds", 0}});
  ASSERT_EQ(immediate.status, 200) << immediate.raw;
  EXPECT_TRUE(immediate.body["previous_valid_until"].is_null());
  json failed = WaitRun(Emit("payout.requested", json::object()), "failed");
  EXPECT_NE(failed["error"].get<std::string>().find("401"), std::string::npos) << failed.dump();
  const std::string last_header = app_on_old_key.received().back().first;
  EXPECT_EQ(last_header.find("v1="), last_header.rfind("v1=")) << "a retired key still signs: " << last_header;

  for (const json& bad : {json{{"grace_seconds", -1}}, json{{"grace_seconds", 2592001}}, json{{"grace_seconds", "1h"}},
                          json{{"grace", 5}}}) {
    EXPECT_EQ(api_->Call("POST", "/api/v1/signing-key/rotate", bad).status, 400) << bad.dump();
  }
  EXPECT_EQ(api_->Call("GET", "/api/v1/signing-key").body["signing_key"], immediate.body["signing_key"]);

  // Not an environment's event: only the all-environments audit trail (admin) shows the two rotations.
  auto all = ClientFor("*")->Call("GET", "/api/v1/audit?kind=signingkey");
  ASSERT_EQ(all.status, 200) << all.raw;
  ASSERT_EQ(all.body["entries"].size(), 2u) << all.raw;
  EXPECT_EQ(all.body["entries"][0]["event"]["actor"]["type"], "apikey");
  EXPECT_EQ(api_->Call("GET", "/api/v1/audit?kind=signingkey").body["entries"].size(), 0u);
}

TEST_F(RuntimeTest, SigningKeyPinnedByTheEnvironmentIsUsedAndCannotBeRotatedThroughTheApi) {
  // IRONFLOW_SIGNING_KEY makes the operator the owner of the key: the API must not replace it behind them.
  const std::string pinned = RandomHex(32);
  TempDir dir;
  ServerProcess::Options options{nats_.url(), dir.path() + "/data", master_key_};
  options.extra_env["IRONFLOW_SIGNING_KEY"] = pinned;
  ServerProcess server(options);
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  ApiClient api(server.url(), server_->api_key());  // both servers share NATS, so the first one's admin key
  auto shown = api.Call("GET", "/api/v1/signing-key");
  ASSERT_EQ(shown.status, 200);
  EXPECT_EQ(shown.body["signing_key"], pinned);
  EXPECT_EQ(shown.body["fixed"], true);
  auto rotated = api.Call("POST", "/api/v1/signing-key/rotate", json{{"grace_seconds", 60}});
  EXPECT_EQ(rotated.status, 409) << rotated.raw;
  EXPECT_EQ(rotated.body["error"]["code"], "conflict") << rotated.raw;
  EXPECT_NE(rotated.body["error"]["message"].get<std::string>().find("IRONFLOW_SIGNING_KEY"), std::string::npos);
  EXPECT_EQ(api.Call("GET", "/api/v1/signing-key").body["signing_key"], pinned) << "a refused rotation changed the key";
}

TEST_F(RuntimeTest, PushAppClientErrorIsNotRetried) {
  auto key_hex = api_->Call("GET", "/api/v1/signing-key").body["signing_key"].get<std::string>();
  FakePushApp app(*HexDecode(key_hex), 400, {{"error", {{"code", "invalid_argument"}, {"message", "nope"}}}});
  api_->Call("POST", "/api/v1/functions",
             json{{"id", "payout"},
                  {"triggers", {{{"event", "payout.requested"}}}},
                  {"mode", "push"},
                  {"url", app.url()},
                  {"retry", {{"max_attempts", 3}, {"initial_delay_ms", 0}}}});
  std::string run_id = Emit("payout.requested", json::object());
  json run = WaitRun(run_id, "failed");
  EXPECT_EQ(run["attempt"], 1);
  EXPECT_EQ(app.calls().size(), 1u);
}

TEST_F(RuntimeTest, RunsReadThroughTheApiNeverShowTheLeaseToken) {
  std::string run_id;
  json job = LeasePayoutJob("w1", &run_id);
  ASSERT_TRUE(job.is_object());
  const std::string token = job["lease_token"];
  // The run is leased now: its record carries the lease, the API shows none of it.
  auto one = api_->Call("GET", "/api/v1/runs/" + run_id);
  ASSERT_EQ(one.status, 200) << one.raw;
  EXPECT_EQ(one.body["status"], "running");
  EXPECT_FALSE(one.body.contains("delivery")) << one.raw;
  EXPECT_EQ(one.raw.find(token), std::string::npos) << "GET /runs/{id} revealed the lease token";
  auto list = api_->Call("GET", "/api/v1/runs");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.raw.find(token), std::string::npos) << "GET /runs revealed the lease token";
  ASSERT_EQ(Finish("w1", job, {{"status", "completed"}}).status, 200);
}

TEST_F(RuntimeTest, JobLeasedThroughOneServerIsCompletedThroughAnotherExactlyOnce) {
  // Every server can take any worker's result: the run record in NATS is the lease, not server memory.
  TempDir second_dir;
  ServerProcess second({nats_.url(), second_dir.path() + "/data", master_key_});
  std::string error;
  ASSERT_TRUE(second.Start(&error)) << error;
  ApiClient other(second.url(), server_->api_key());
  std::string run_id;
  json job = LeasePayoutJob("w1", &run_id);
  ASSERT_TRUE(job.is_object());
  auto done = Finish("w1", job, {{"status", "completed"}, {"output", "via second"}}, &other);
  ASSERT_EQ(done.status, 200) << done.raw;
  EXPECT_EQ(Finish("w1", job, {{"status", "completed"}, {"output", "again"}}).status, 409)
      << "a finished job was finished twice";
  EXPECT_EQ(Finish("w1", job, {{"status", "completed"}, {"output", "again"}}, &other).status, 409);
  json run = WaitRun(run_id, "completed");
  EXPECT_EQ(run["output"], "via second");
  EXPECT_EQ(run["attempt"], 1);
}

TEST_F(RuntimeTest, NoSecretValueLandsInNatsOutsideItsSealedEntry) {
  std::string value = NewValue();
  SetSecret("STRIPE_KEY", value);
  RegisterPull("payout", {"STRIPE_KEY"}, {{"max_attempts", 2}, {"initial_delay_ms", 0}});
  RegisterWorker("w1", {"payout"});
  std::string run_id = Emit("payout.requested", json::object());
  json job = NextJob("w1");
  ASSERT_TRUE(job.is_object());
  ASSERT_EQ(Finish("w1", job,
                   {{"status", "failed"},
                    {"error", {{"message", "oops " + value}}},
                    {"steps", {{{"id", "s"}, {"output", value}}}}})
                .status,
            200);
  json second = NextJob("w1");
  ASSERT_TRUE(second.is_object());
  ASSERT_EQ(Finish("w1", second, {{"status", "completed"}, {"output", value}}).status, 200);
  WaitRun(run_id, "completed");
  server_->Stop();
  nats_.Stop();
  std::string where;
  EXPECT_FALSE(AnyFileContains(nats_.store_dir(), value, &where)) << "the value reached NATS in " << where;
}

// The value of an unlabelled counter in a server's /metrics (-1 if absent).
long MetricValue(ApiClient& client, const std::string& name) {
  auto r = client.Call("GET", "/metrics");
  size_t at = r.raw.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stol(r.raw.substr(at + name.size() + 2));
}

TEST_F(RuntimeTest, EachAttemptRunsOnceWithWorkersPollingTwoServers) {
  // Normal operation (no lease runs out): JetStream hands each job to one taker, however many servers and
  // workers poll. Before the job stream, 74 of 200 runs executed twice this way on a replicated store.
  TempDir second_dir;
  ServerProcess second({nats_.url(), second_dir.path() + "/data", master_key_});
  std::string error;
  ASSERT_TRUE(second.Start(&error)) << error;
  ApiClient other(second.url(), server_->api_key());
  RegisterPull("bulk", {}, {{"max_attempts", 1}}, "bulk.requested");
  constexpr int kWorkers = 4, kRuns = 200;
  for (int w = 0; w < kWorkers; ++w) RegisterWorker("w" + std::to_string(w), {"bulk"});
  std::set<std::string> run_ids;
  for (int i = 0; i < kRuns; ++i) run_ids.insert(Emit("bulk.requested", json{{"i", i}}, i % 2 ? &other : api_.get()));
  ASSERT_EQ(run_ids.size(), static_cast<size_t>(kRuns));

  std::vector<std::string> worker_ids;
  for (int w = 0; w < kWorkers; ++w) worker_ids.push_back("w" + std::to_string(w));
  auto report =
      RunPullWorkers({server_->url(), second.url()}, server_->api_key(), worker_ids, kRuns, std::chrono::seconds(60));
  EXPECT_EQ(report.completed, kRuns);
  EXPECT_TRUE(report.refused.empty()) << report.refused.size() << " results refused, first: " << report.refused[0];
  EXPECT_EQ(report.deliveries.size(), static_cast<size_t>(kRuns));
  EXPECT_EQ(report.repeated(), 0) << "runs delivered more than once";
  auto listed = api_->Call("GET", "/api/v1/runs?function_id=bulk&limit=1000");
  ASSERT_EQ(listed.status, 200);
  int completed_first_time = 0;
  for (const auto& run : listed.body["runs"])
    completed_first_time += run["status"] == "completed" && run["attempt"] == 1;
  EXPECT_EQ(completed_first_time, kRuns);
  EXPECT_EQ(MetricValue(*api_, "ironflow_job_redeliveries_total"), 0);
  EXPECT_EQ(MetricValue(other, "ironflow_job_redeliveries_total"), 0);
}

TEST_F(RuntimeTest, ResultSentAgainAfterItsAnswerWasLostIsAcceptedAndRecordedOnce) {
  // A worker whose result got no answer sends it again: the run was finished by it, so the repeat is answered OK,
  // changes nothing, and the run has one `completed` event. A result of another lease stays refused.
  RegisterPull("payout", {}, {{"max_attempts", 2}, {"initial_delay_ms", 0}});
  RegisterWorker("w1", {"payout"});
  std::string run_id = Emit("payout.requested", json::object());
  json job = NextJob("w1");
  ASSERT_TRUE(job.is_object());
  ASSERT_EQ(Finish("w1", job, {{"status", "completed"}, {"output", "first"}}).status, 200);
  auto again = Finish("w1", job, {{"status", "completed"}, {"output", "first"}});
  EXPECT_EQ(again.status, 200) << again.raw;
  json run = WaitRun(run_id, "completed");
  EXPECT_EQ(run["output"], "first");
  EXPECT_EQ(run["attempt"], 1);
  auto audit = api_->Call("GET", "/api/v1/audit?kind=run&name=" + run_id + "&since=1h");
  int completed = 0;
  for (const auto& e : audit.body["entries"]) completed += e["subject"] == "system.run." + run_id + ".completed";
  EXPECT_EQ(completed, 1) << audit.raw;
  json forged = job;
  forged["lease_token"] = "lt1.00.00";
  EXPECT_NE(Finish("w1", forged, {{"status", "completed"}}).status, 200);
}

TEST_F(RuntimeTest, PollTakingSeveralJobsLeasesEachRunOnceAndAcceptsEveryResult) {
  // One poll leases all the jobs it takes in one round trip: each run is delivered once, at attempt 1, and
  // each result is recorded against its own lease.
  RegisterPull("payout", {}, {{"max_attempts", 2}, {"initial_delay_ms", 0}});
  RegisterWorker("w1", {"payout"});  // max_concurrent_jobs 4: a poll takes up to 4
  std::set<std::string> emitted;
  for (int i = 0; i < 6; ++i) emitted.insert(Emit("payout.requested", json{{"i", i}}));
  std::vector<json> jobs;
  std::set<std::string> delivered;
  for (int polls = 0; polls < 50 && jobs.size() < emitted.size(); ++polls) {
    auto polled = api_->Call("GET", "/api/v1/workers/w1/jobs?available=8&wait_ms=1000");
    ASSERT_TRUE(polled.status == 200 || polled.status == 204) << polled.raw;
    if (polled.status != 200) continue;
    for (const auto& job : polled.body["jobs"]) {
      EXPECT_TRUE(delivered.insert(job["run_id"].get<std::string>()).second)
          << "run delivered twice: " << job["run_id"];
      EXPECT_EQ(job["attempt"], 1);
      jobs.push_back(job);
    }
  }
  EXPECT_EQ(delivered, emitted);
  for (const auto& job : jobs) {
    EXPECT_EQ(Finish("w1", job, {{"status", "completed"}, {"output", job["run_id"]}}).status, 200);
  }
  for (const auto& run_id : emitted) {
    json run = WaitRun(run_id, "completed");
    EXPECT_EQ(run["output"], run_id);
    EXPECT_EQ(run["attempt"], 1);
  }
}

TEST_F(RuntimeTest, JobWhoseDeliveryCannotBeAuditedIsNotDelivered) {
  // A job reaches a worker only once its `running` and access events are stored. With the audit stream gone they
  // cannot be (retried for about 10 s): the poll answers 503 with no secret in it, and the attempt is recorded as
  // failed (retried later by the function's policy).
  const std::string value = NewValue();
  SetSecret("STRIPE_KEY", value);
  RegisterPull("payout", {"STRIPE_KEY"}, {{"max_attempts", 3}, {"initial_delay_ms", 60000}});
  RegisterWorker("w1", {"payout"});
  std::string run_id = Emit("payout.requested", json::object());
  auto nc = nats_.Connect();
  natsMsg* reply = nullptr;
  ASSERT_EQ(natsConnection_RequestString(&reply, nc->raw(), "$JS.API.STREAM.DELETE.IRONFLOW_SYSTEM", "", 5000),
            NATS_OK);
  natsMsg_Destroy(reply);
  auto polled = api_->Call("GET", "/api/v1/workers/w1/jobs?available=2&wait_ms=100");
  EXPECT_EQ(polled.status, 503) << polled.raw.substr(0, 300);
  EXPECT_EQ(polled.raw.find(value), std::string::npos) << "a secret went out unaudited";
  json run = WaitRun(run_id, "queued");
  EXPECT_EQ(run["attempt"], 1);
  EXPECT_NE(run["error"].get<std::string>().find("could not be audited"), std::string::npos) << run.dump();
}

TEST_F(RuntimeTest, JobLeasedThroughAServerThatDiesIsHandedOutAgainAfterAckWaitAndCounted) {
  // Both servers keep a job's lease alive only while they run: kill -9 the one that leased it, and the job comes
  // back (JetStream's AckWait) to a worker polling the other, as the next attempt; the repeat is counted.
  TempDir a_dir, b_dir;
  const std::vector<std::string> fast = {"--job-ack-wait-ms", "1000"};
  ServerProcess a({nats_.url(), a_dir.path() + "/data", master_key_, false, fast});
  ServerProcess b({nats_.url(), b_dir.path() + "/data", master_key_, false, fast});
  std::string error;
  ASSERT_TRUE(a.Start(&error)) << error;
  ASSERT_TRUE(b.Start(&error)) << error;
  ApiClient via_a(a.url(), server_->api_key()), via_b(b.url(), server_->api_key());
  SetSecret("STRIPE_KEY", NewValue());
  RegisterPull("payout", {"STRIPE_KEY"}, {{"max_attempts", 3}, {"initial_delay_ms", 0}});
  RegisterWorker("w1", {"payout"});
  std::string run_id = Emit("payout.requested", json::object(), &via_a);
  json first = NextJob("w1", &via_b);
  ASSERT_TRUE(first.is_object());
  EXPECT_EQ(first["attempt"], 1);
  ASSERT_EQ(kill(b.pid(), SIGKILL), 0);
  b.Stop();
  json again = NextJob("w1", &via_a, 15000);
  ASSERT_TRUE(again.is_object()) << "the job never came back after its server died";
  EXPECT_EQ(again["run_id"], run_id);
  EXPECT_EQ(again["attempt"], 2);
  EXPECT_EQ(Finish("w1", first, {{"status", "completed"}}, &via_a).status, 409)
      << "the lost attempt's result was taken";
  ASSERT_EQ(Finish("w1", again, {{"status", "completed"}, {"output", "second"}}, &via_a).status, 200);
  json run = WaitRun(run_id, "completed");
  EXPECT_EQ(run["output"], "second");
  EXPECT_EQ(MetricValue(via_a, "ironflow_job_redeliveries_total"), 1);
  EXPECT_NE(a.log().find("lease lost"), std::string::npos) << "the repeat was not logged";
}

TEST_F(RuntimeTest, RunsQueuedBeforeTheJobStreamAreDeliveredAfterTheUpgrade) {
  // A run record written by a version without the job stream (no job message, no "queue" in its delivery) is
  // queued when a server starts, once, and delivered like any other.
  RegisterPull("payout", {}, {{"max_attempts", 2}});
  RegisterWorker("w1", {"payout"});
  server_->Stop();
  RunRecord old;
  old.id = "run_0123456789abcdef01234567";
  old.function_id = "payout";
  old.environment = "default";
  old.event_id = "evt_1";
  old.event_name = "payout.requested";
  old.event_timestamp = old.created_at = old.updated_at = "2026-11-30T10:00:00Z";
  old.delivery.job_id = JobIdFor(old.id, 1);
  old.delivery.mode = DeliveryMode::kPull;
  old.delivery.attempt = 1;
  old.delivery.state = DeliveryState::kPending;
  json stored = json::parse(EncodeRun(old));
  stored["delivery"].erase("queue");
  // A second one whose attempt was leased to a worker of the old version when the server stopped.
  RunRecord leased = old;
  leased.id = "run_0123456789abcdef01234568";
  leased.status = RunStatus::kRunning;
  leased.attempt = 1;
  leased.delivery.job_id = JobIdFor(leased.id, 1);
  leased.delivery.state = DeliveryState::kLeased;
  leased.delivery.lease_token = "lease_old";
  leased.delivery.worker_id = "w1";
  leased.delivery.leased_at_ms = NowUnixMillis();
  leased.delivery.lease_expires_ms = NowUnixMillis() + 30000;
  json stored_leased = json::parse(EncodeRun(leased));
  stored_leased["delivery"].erase("queue");
  {
    auto nc = nats_.Connect();
    auto bucket = KvBucket::OpenOrCreate(*nc, {kRunsBucket, "", 1, 1, -1});
    ASSERT_TRUE(bucket.ok());
    ASSERT_TRUE((*bucket)->Create("default." + old.id, stored.dump()).ok());
    ASSERT_TRUE((*bucket)->Create("default." + leased.id, stored_leased.dump()).ok());
  }
  std::string error;
  ASSERT_TRUE(server_->Start(&error)) << error;
  api_ = std::make_unique<ApiClient>(server_->url(), server_->api_key());  // a new port
  std::set<std::string> delivered;
  for (int i = 0; i < 2; ++i) {
    json job = NextJob("w1");
    ASSERT_TRUE(job.is_object()) << "an old run was not delivered";
    delivered.insert(job["run_id"].get<std::string>());
    ASSERT_EQ(Finish("w1", job, {{"status", "completed"}}).status, 200);
  }
  EXPECT_EQ(delivered, (std::set<std::string>{old.id, leased.id}));
  WaitRun(old.id, "completed");
  WaitRun(leased.id, "completed");
  // A second start queues nothing again.
  server_->Stop();
  ASSERT_TRUE(server_->Start(&error)) << error;
  api_ = std::make_unique<ApiClient>(server_->url(), server_->api_key());
  EXPECT_EQ(server_->log().find("recorded before the job stream existed", server_->log().rfind("stopped")),
            std::string::npos);
  EXPECT_EQ(NextJob("w1", nullptr, 500), json());
}

}  // namespace
}  // namespace ironflow::server::testing
