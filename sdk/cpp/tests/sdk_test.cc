// Tests of the C++ SDK that need no Ironflow server: secrets access rules, memoized steps, result building,
// push signatures, the PushServer over real loopback HTTP, and the pull Worker against a scripted fake server
// (src/http's HttpServer). Synchronisation is by condition variables with generous upper bounds, never sleeps.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <ctime>

#include <signal.h>
#include <unistd.h>
#include <mutex>
#include <optional>
#include <thread>

#include "http/http_client.h"
#include "http/http_server.h"
#include "ironflow/sdk.h"
#include "job_runner.h"

namespace ironflow {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr const char* kOtherKeyHex = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

std::string What(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// ---- secrets ---------------------------------------------------------------------------------------------

TEST(SdkSecrets, UndeclaredSecretThrowsSecretNotDeclaredListingDeclaredNamesButNoValue) {
  Secrets s("payout", {"STRIPE_KEY", "WEBHOOK_SECRET"}, {{"STRIPE_KEY", "sk_live_value_1"}});
  EXPECT_THROW((void)s.get("DB_URL"), SecretNotDeclared);
  EXPECT_THROW((void)s.get("DB_URL"), std::runtime_error);
  std::string msg = What([&] { (void)s.get("DB_URL"); });
  EXPECT_NE(msg.find("DB_URL"), std::string::npos) << msg;
  EXPECT_NE(msg.find("STRIPE_KEY"), std::string::npos) << msg;
  EXPECT_NE(msg.find("WEBHOOK_SECRET"), std::string::npos) << msg;
  EXPECT_NE(msg.find("payout"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("sk_live_value_1"), std::string::npos) << msg;
  EXPECT_FALSE(s.has("DB_URL"));
}

TEST(SdkSecrets, DeclaredSecretIsReadableAndDeclaredButUndeliveredThrowsSecretNotSet) {
  Secrets s("payout", {"STRIPE_KEY", "WEBHOOK_SECRET"}, {{"STRIPE_KEY", "sk_live_value_1"}});
  EXPECT_EQ(s.get("STRIPE_KEY"), "sk_live_value_1");
  EXPECT_TRUE(s.has("STRIPE_KEY"));
  EXPECT_FALSE(s.has("WEBHOOK_SECRET"));
  EXPECT_THROW((void)s.get("WEBHOOK_SECRET"), SecretNotSet);
}

TEST(SdkSecrets, ValuesForUndeclaredNamesAreNeverVisible) {
  Secrets s("payout", {"STRIPE_KEY"}, {{"STRIPE_KEY", "a-value"}, {"EXTRA", "other-value"}});
  EXPECT_FALSE(s.has("EXTRA"));
  EXPECT_THROW((void)s.get("EXTRA"), SecretNotDeclared);
}

TEST(SdkSecrets, WipeDropsEveryValue) {
  Secrets s("payout", {"STRIPE_KEY"}, {{"STRIPE_KEY", "a-long-enough-value-to-live-on-the-heap"}});
  s.wipe();
  EXPECT_FALSE(s.has("STRIPE_KEY"));
  EXPECT_THROW((void)s.get("STRIPE_KEY"), SecretNotSet);
}

TEST(SdkFunction, CreateFunctionRejectsInvalidConfiguration) {
  auto h = [](Context&) -> json { return nullptr; };
  EXPECT_THROW(createFunction({.id = "Bad.Id", .triggers = {{.event = "x"}}}, h), std::invalid_argument);
  EXPECT_THROW(createFunction({.id = "ok", .triggers = {}}, h), std::invalid_argument);
  EXPECT_THROW(createFunction({.id = "ok", .triggers = {{.event = "x"}}, .secrets = {"BAD NAME"}}, h),
               std::invalid_argument);
  EXPECT_THROW(createFunction({.id = "ok", .triggers = {{.event = "x"}}}, nullptr), std::invalid_argument);
  EXPECT_NO_THROW(
      createFunction({.id = "payout",
                      .triggers = {{.event = "payout.requested"}},
                      .secrets = {"STRIPE_KEY"},
                      .name = "Payout",
                      .retry = {.max_attempts = 5, .initial_delay_ms = 10, .backoff_factor = 1.5, .max_delay_ms = 100},
                      .timeout_ms = 1000},
                     h));
}

// ---- steps -----------------------------------------------------------------------------------------------

TEST(SdkSteps, CompletedStepReturnsStoredOutputWithoutCallingFn) {
  Steps steps({{"charge", json{{"charge_id", "ch_stored"}}}});
  int calls = 0;
  json out = steps.run("charge", [&] {
    ++calls;
    return json{{"charge_id", "ch_new"}};
  });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(out, (json{{"charge_id", "ch_stored"}}));
  EXPECT_EQ(steps.executed(), 0);
}

TEST(SdkSteps, NewStepRunsOnceAndIsRecordedAfterStoredOnes) {
  Steps steps({{"charge", json{{"n", 1}}}});
  int calls = 0;
  auto fn = [&] { return json{{"n", ++calls + 1}}; };
  EXPECT_EQ(steps.run("notify", fn), (json{{"n", 2}}));
  EXPECT_EQ(steps.run("notify", fn), (json{{"n", 2}}));  // same id again in this attempt: memoized too
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(steps.completed().size(), 2u);
  EXPECT_EQ(steps.completed()[0].id, "charge");
  EXPECT_EQ(steps.completed()[1].id, "notify");
  int void_calls = 0;
  EXPECT_EQ(steps.run("void", [&] { ++void_calls; }), json(nullptr));
  EXPECT_EQ(void_calls, 1);
}

TEST(SdkSteps, ThrowingStepIsNotRecorded) {
  Steps steps;
  EXPECT_THROW(steps.run("boom", []() -> json { throw std::runtime_error("no"); }), std::runtime_error);
  EXPECT_TRUE(steps.completed().empty());
  EXPECT_THROW(steps.run("", [] { return json(1); }), std::invalid_argument);
}

// ---- running a job ---------------------------------------------------------------------------------------

json PullJob() {
  return json::parse(R"({
    "job_id": "job_1", "lease_token": "lt_1", "run_id": "run_1", "function_id": "payout", "attempt": 2,
    "event": {"id": "evt_1", "name": "payout.requested", "data": {"amount": 100}, "timestamp": "2026-12-01T06:00:00.000Z"},
    "steps": [{"id": "charge", "output": {"charge_id": "ch_stored"}}],
    "context": {"secrets": {"STRIPE_KEY": "sk_test_secret_value", "EXTRA": "not-declared-value"}}})");
}

TEST(SdkRunJob, HandlerSeesJobFieldsAndOnlyDeclaredSecretsAndJobCopyIsWiped) {
  json seen;
  auto fn = createFunction({.id = "payout", .triggers = {{.event = "payout.requested"}}, .secrets = {"STRIPE_KEY"}},
                           [&](Context& ctx) -> json {
                             seen = {{"function_id", ctx.function_id},
                                     {"run_id", ctx.run_id},
                                     {"attempt", ctx.attempt},
                                     {"event_id", ctx.event.id},
                                     {"event_name", ctx.event.name},
                                     {"data", ctx.event.data},
                                     {"timestamp", ctx.event.timestamp},
                                     {"key", std::string(ctx.secrets.get("STRIPE_KEY"))},
                                     {"has_extra", ctx.secrets.has("EXTRA")}};
                             return json{{"ok", true}};
                           });
  json job = PullJob();
  json result = detail::RunJob(fn, job);
  EXPECT_EQ(result["status"], "completed");
  EXPECT_EQ(result["output"], (json{{"ok", true}}));
  EXPECT_EQ(seen["function_id"], "payout");
  EXPECT_EQ(seen["run_id"], "run_1");
  EXPECT_EQ(seen["attempt"], 2);
  EXPECT_EQ(seen["event_id"], "evt_1");
  EXPECT_EQ(seen["event_name"], "payout.requested");
  EXPECT_EQ(seen["data"], (json{{"amount", 100}}));
  EXPECT_EQ(seen["timestamp"], "2026-12-01T06:00:00.000Z");
  EXPECT_EQ(seen["key"], "sk_test_secret_value");
  EXPECT_EQ(seen["has_extra"], false);
  // The job document no longer holds any value.
  EXPECT_EQ(job["context"]["secrets"], json::object());
  EXPECT_EQ(job.dump().find("sk_test_secret_value"), std::string::npos);
  EXPECT_EQ(job.dump().find("not-declared-value"), std::string::npos);
}

TEST(SdkRunJob, ResultCarriesStoredAndNewStepsAndStoredStepIsNotRerun) {
  int charge_calls = 0;
  auto fn = createFunction({.id = "payout", .triggers = {{.event = "payout.requested"}}}, [&](Context& ctx) -> json {
    json charge = ctx.step.run("charge", [&] {
      ++charge_calls;
      return json{{"charge_id", "ch_new"}};
    });
    ctx.step.run("notify", [] { return json{{"sent", true}}; });
    return charge;
  });
  json job = PullJob();
  json result = detail::RunJob(fn, job);
  EXPECT_EQ(charge_calls, 0);
  EXPECT_EQ(result["output"], (json{{"charge_id", "ch_stored"}}));
  EXPECT_EQ(result["steps"], json::parse(R"([{"id":"charge","output":{"charge_id":"ch_stored"}},
                                              {"id":"notify","output":{"sent":true}}])"));
}

TEST(SdkRunJob, ThrowingHandlerFailsRetryableAndKeepsStepsCompletedBeforeTheThrow) {
  auto fn = createFunction({.id = "payout", .triggers = {{.event = "e"}}}, [](Context& ctx) -> json {
    ctx.step.run("first", [] { return json(1); });
    throw std::runtime_error("card declined");
  });
  json job = PullJob();
  json result = detail::RunJob(fn, job);
  EXPECT_EQ(result["status"], "failed");
  EXPECT_EQ(result["error"]["message"], "card declined");
  EXPECT_EQ(result["error"]["retryable"], true);
  EXPECT_FALSE(result.contains("output"));
  ASSERT_EQ(result["steps"].size(), 2u);
  EXPECT_EQ(result["steps"][1]["id"], "first");
}

TEST(SdkRunJob, NonRetryableErrorAndUndeclaredSecretFailWithoutRetry) {
  auto non_retryable = createFunction({.id = "a", .triggers = {{.event = "e"}}},
                                      [](Context&) -> json { throw NonRetryableError("invalid amount"); });
  json job = PullJob();
  json r1 = detail::RunJob(non_retryable, job);
  EXPECT_EQ(r1["status"], "failed");
  EXPECT_EQ(r1["error"]["message"], "invalid amount");
  EXPECT_EQ(r1["error"]["retryable"], false);

  auto undeclared = createFunction({.id = "b", .triggers = {{.event = "e"}}, .secrets = {"STRIPE_KEY"}},
                                   [](Context& ctx) -> json { return std::string(ctx.secrets.get("EXTRA")); });
  job = PullJob();
  json r2 = detail::RunJob(undeclared, job);
  EXPECT_EQ(r2["status"], "failed");
  EXPECT_EQ(r2["error"]["retryable"], false);
  EXPECT_NE(r2["error"]["message"].get<std::string>().find("STRIPE_KEY"), std::string::npos);
  EXPECT_EQ(r2.dump().find("not-declared-value"), std::string::npos);
}

TEST(SdkRunJob, PushShapeSecretsAreReadFromTheTopLevelField) {
  auto fn = createFunction({.id = "payout", .triggers = {{.event = "e"}}, .secrets = {"STRIPE_KEY"}},
                           [](Context& ctx) -> json { return ctx.secrets.get("STRIPE_KEY").size(); });
  json job = {
      {"run_id", "run_2"},      {"function_id", "payout"},
      {"attempt", 1},           {"event", {{"id", "evt_2"}, {"name", "e"}, {"data", nullptr}, {"timestamp", "t"}}},
      {"steps", json::array()}, {"secrets", {{"STRIPE_KEY", "12345"}}}};
  json result = detail::RunJob(fn, job);
  EXPECT_EQ(result["output"], 5);
  EXPECT_EQ(job["secrets"], json::object());
}

// ---- signatures ------------------------------------------------------------------------------------------

TEST(SdkStores, ContextWithoutServerAccessThrowsAClearErrorForConfigAndKv) {
  Context ctx;  // e.g. a PushServer without server_url, or a handler unit test
  try {
    ctx.config.get("flags");
    FAIL() << "config access without a server did not throw";
  } catch (const ApiError&) {
    FAIL() << "expected a configuration error, not an API error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("server_url"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ctx.kv("counters").incr("n"), Error);
}

TEST(SdkRunJob, ContextEnvironmentComesFromTheJobElseTheDefault) {
  Function fn =
      createFunction({.id = "f", .triggers = {{.event = "e"}}}, [](Context& ctx) -> json { return ctx.environment; });
  json job = {{"run_id", "r"}, {"function_id", "f"}, {"environment", "staging"}, {"event", {{"name", "e"}}}};
  EXPECT_EQ(detail::RunJob(fn, job, nullptr, "production")["output"], "staging");
  json no_env = {{"run_id", "r"}, {"function_id", "f"}, {"event", {{"name", "e"}}}};
  EXPECT_EQ(detail::RunJob(fn, no_env, nullptr, "production")["output"], "production");
}

TEST(SdkSignature, SignPayloadMatchesAnIndependentHmacVector) {
  // printf '%s' '1700000000.{"run_id":"run_1"}' | openssl dgst -sha256 -mac HMAC -macopt hexkey:0001...1f
  EXPECT_EQ(signPayload(kKeyHex, R"({"run_id":"run_1"})", 1700000000),
            "t=1700000000,v1=bf2a048d6e79b374e8fdfb9bdb3b4047d998c76b4416bcafd7d498494b835df5");
}

TEST(SdkSignature, AcceptsAValidHeader) {
  const std::string body = R"({"run_id":"run_1"})";
  EXPECT_TRUE(verifySignature(
      kKeyHex, "t=1700000000,v1=bf2a048d6e79b374e8fdfb9bdb3b4047d998c76b4416bcafd7d498494b835df5", body, 1700000000));
  int64_t now = Now();
  EXPECT_TRUE(verifySignature(kKeyHex, signPayload(kKeyHex, body, now), body, now));
}

TEST(SdkSignature, AcceptsAnyOfSeveralV1Values) {
  const std::string body = R"({"run_id":"run_1"})";
  int64_t now = Now();
  std::string good = signPayload(kKeyHex, body, now);
  std::string good_v1 = good.substr(good.find("v1=") + 3);
  std::string other_v1 = signPayload(kOtherKeyHex, body, now).substr(good.find("v1=") + 3);
  EXPECT_TRUE(verifySignature(kKeyHex, "t=" + std::to_string(now) + ",v1=" + other_v1 + ",v1=" + good_v1, body, now));
  EXPECT_TRUE(verifySignature(kKeyHex, "t=" + std::to_string(now) + ", v1=" + good_v1 + ", v1=" + other_v1, body, now));
}

TEST(SdkSignature, RejectsMissingOrMalformedHeaders) {
  const std::string body = "{}";
  int64_t now = Now();
  std::string v1 = signPayload(kKeyHex, body, now).substr(std::to_string(now).size() + 6);
  EXPECT_FALSE(verifySignature(kKeyHex, "", body, now));
  EXPECT_FALSE(verifySignature(kKeyHex, "t=" + std::to_string(now), body, now));  // no v1
  EXPECT_FALSE(verifySignature(kKeyHex, "v1=" + v1, body, now));                  // no t
  EXPECT_FALSE(verifySignature(kKeyHex, "t=abc,v1=" + v1, body, now));
  EXPECT_FALSE(verifySignature(kKeyHex, "t=" + std::to_string(now) + ",v1=" + v1.substr(0, 63), body, now));
}

TEST(SdkSignature, RejectsWrongKeyOrTamperedBody) {
  int64_t now = Now();
  EXPECT_FALSE(verifySignature(kKeyHex, signPayload(kOtherKeyHex, "{}", now), "{}", now));
  EXPECT_FALSE(verifySignature(kKeyHex, signPayload(kKeyHex, R"({"a":1})", now), R"({"a":2})", now));
}

TEST(SdkSignature, RejectsTimestampsMoreThan300SecondsAway) {
  const std::string body = "{}";
  int64_t now = Now();
  EXPECT_TRUE(verifySignature(kKeyHex, signPayload(kKeyHex, body, now - 300), body, now));
  EXPECT_FALSE(verifySignature(kKeyHex, signPayload(kKeyHex, body, now - 301), body, now));
  EXPECT_TRUE(verifySignature(kKeyHex, signPayload(kKeyHex, body, now + 300), body, now));
  EXPECT_FALSE(verifySignature(kKeyHex, signPayload(kKeyHex, body, now + 301), body, now));
}

TEST(SdkSignature, MalformedKeyIsRejectedWithoutEchoingIt) {
  std::string msg = What([] { (void)signPayload("abcdef-not-a-key", "{}", 1); });
  EXPECT_FALSE(msg.empty());
  EXPECT_EQ(msg.find("abcdef-not-a-key"), std::string::npos);
  EXPECT_THROW(PushServer({.signing_key_hex = "00"}), std::invalid_argument);
}

// ---- PushServer end to end over loopback -----------------------------------------------------------------

class SdkPushServer : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ =
        std::make_unique<PushServer>(PushServerOptions{.host = "127.0.0.1", .port = 0, .signing_key_hex = kKeyHex});
    server_->add(
        createFunction({.id = "payout", .triggers = {{.event = "payout.requested"}}, .secrets = {"STRIPE_KEY"}},
                       [this](Context& ctx) -> json {
                         calls_.fetch_add(1);
                         auto charge = ctx.step.run("charge", [] { return json{{"charged", true}}; });
                         return json{{"key_length", ctx.secrets.get("STRIPE_KEY").size()},
                                     {"amount", ctx.event.data["amount"]},
                                     {"charge", charge}};
                       }));
    server_->start();
    ASSERT_GT(server_->port(), 0);
    auto c = HttpClient::Create("http://127.0.0.1:" + std::to_string(server_->port()));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
  }

  static std::string Body(const std::string& function_id = "payout") {
    return json{
        {"run_id", "run_9"},
        {"function_id", function_id},
        {"attempt", 1},
        {"event", {{"id", "evt_9"}, {"name", "payout.requested"}, {"data", {{"amount", 100}}}, {"timestamp", "t"}}},
        {"steps", json::array()},
        {"secrets", {{"STRIPE_KEY", "sk_live_push_value"}}}}
        .dump();
  }

  ClientResponse Post(const std::string& body, std::optional<std::string> signature,
                      const std::string& path = "/api/ironflow") {
    HeaderList headers = {{"Content-Type", "application/json"}};
    if (signature) headers.emplace_back("X-Ironflow-Signature", *signature);
    auto res = client_->Send("POST", path, headers, body, 10000);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? std::move(res).value() : ClientResponse{};
  }

  std::unique_ptr<PushServer> server_;
  std::unique_ptr<HttpClient> client_;
  std::atomic<int> calls_{0};
};

TEST_F(SdkPushServer, ValidSignatureRunsTheFunctionAndAnswersCompleted) {
  std::string body = Body();
  auto res = Post(body, signPayload(kKeyHex, body, Now()));
  ASSERT_EQ(res.status, 200) << res.body;
  json doc = json::parse(res.body);
  EXPECT_EQ(doc["status"], "completed");
  EXPECT_EQ(doc["output"], (json{{"key_length", 18}, {"amount", 100}, {"charge", {{"charged", true}}}}));
  EXPECT_EQ(doc["steps"], json::parse(R"([{"id":"charge","output":{"charged":true}}])"));
  EXPECT_EQ(res.body.find("sk_live_push_value"), std::string::npos);
  EXPECT_EQ(calls_.load(), 1);
}

TEST_F(SdkPushServer, WrongMissingOrStaleSignatureAnswers401AndDoesNotRunTheFunction) {
  std::string body = Body();
  const int64_t now = Now();
  for (const std::optional<std::string>& sig :
       {std::optional<std::string>(), std::optional<std::string>(signPayload(kOtherKeyHex, body, now)),
        std::optional<std::string>(signPayload(kKeyHex, body, now - 301)),
        std::optional<std::string>(signPayload(kKeyHex, body + " ", now))}) {
    auto res = Post(body, sig);
    EXPECT_EQ(res.status, 401) << res.body;
    json doc = json::parse(res.body, nullptr, false);
    ASSERT_TRUE(doc.is_object()) << res.body;
    EXPECT_EQ(doc["error"]["code"], "unauthenticated");
  }
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(SdkPushServer, UnknownFunctionAnswers404AndOtherPathsAre404) {
  std::string body = Body("refund");
  auto res = Post(body, signPayload(kKeyHex, body, Now()));
  EXPECT_EQ(res.status, 404) << res.body;
  EXPECT_EQ(json::parse(res.body)["error"]["code"], "not_found");
  body = Body();
  EXPECT_EQ(Post(body, signPayload(kKeyHex, body, Now()), "/elsewhere").status, 404);
  EXPECT_EQ(calls_.load(), 0);
}

TEST(SdkPushServerLifecycle, StopFromAnotherThreadEndsRunAndClosesThePort) {
  PushServer server({.host = "127.0.0.1", .port = 0, .signing_key_hex = kKeyHex});
  server.add(createFunction({.id = "x", .triggers = {{.event = "e"}}}, [](Context&) -> json { return nullptr; }));
  server.start();
  const int port = server.port();
  std::thread runner([&] { server.run(); });
  server.stop();
  runner.join();
  auto client = HttpClient::Create("http://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(client.ok());
  auto res = (*client)->Send("POST", "/api/ironflow", {}, "{}", 5000);
  EXPECT_FALSE(res.ok()) << "still serving after run() returned";
}

// ---- pull Worker against a scripted fake server ----------------------------------------------------------

// Answers the pull protocol: functions and worker registration, one 404 on the first poll (to force a
// re-registration), then the scripted jobs, then long-poll 204s; records everything.
class FakeServer {
 public:
  explicit FakeServer(std::vector<json> jobs) : jobs_(std::move(jobs)) {
    server_ = std::make_unique<HttpServer>(HttpServer::Options{.host = "127.0.0.1", .port = 0, .threads = 8},
                                           [this](const HttpRequest& r) { return Handle(r); });
    Status st = server_->Start();
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  ~FakeServer() { Close(); }
  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu);
      closing = true;
    }
    cv.notify_all();
    if (server_) server_->Stop();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  // Waits (at most `limit`) for `pred`, evaluated under the lock.
  template <typename Pred>
  bool WaitFor(Pred pred, std::chrono::milliseconds limit = 20s) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, limit, pred);
  }

  std::mutex mu;
  std::condition_variable cv;
  std::vector<json> function_registrations;
  std::vector<json> worker_registrations;
  std::vector<json> results;
  std::vector<std::string> bad_requests;  // requests missing the auth or environment header
  std::vector<std::string> poll_queries;
  int polls = 0;
  int heartbeats = 0;
  bool closing = false;

 private:
  HttpResponse Reply(int status, json body) {
    HttpResponse r;
    r.status = status;
    if (status != 204) r.body = body.dump();
    return r;
  }

  HttpResponse Handle(const HttpRequest& r) {
    std::unique_lock<std::mutex> lock(mu);
    if (r.header("authorization") != "Bearer test-api-key" || r.header("x-ironflow-environment") != "production") {
      bad_requests.push_back(r.method + " " + r.path);
    }
    const std::string prefix = "/api/v1/workers/test-worker";
    HttpResponse out = Reply(404, {{"error", {{"code", "not_found"}, {"message", "no route"}}}});
    if (r.method == "POST" && r.path == "/api/v1/functions") {
      function_registrations.push_back(json::parse(r.body));
      out = Reply(201, json::object());
    } else if (r.method == "POST" && r.path == prefix + "/register") {
      worker_registrations.push_back(json::parse(r.body));
      out = Reply(200, json::object());
    } else if (r.method == "POST" && r.path == prefix + "/heartbeat") {
      ++heartbeats;
      out = Reply(200, json{{"ok", true}});
    } else if (r.method == "GET" && r.path == prefix + "/jobs") {
      poll_queries.push_back(r.query);
      if (++polls == 1) {
        out = Reply(404, {{"error", {{"code", "not_found"}, {"message", "worker is not registered"}}}});
      } else if (!jobs_.empty()) {
        json jobs = json::array();
        for (auto& j : jobs_) jobs.push_back(std::move(j));
        jobs_.clear();
        out = Reply(200, {{"jobs", jobs}});
      } else {
        int wait_ms = std::stoi(r.query_param("wait_ms").value_or("0"));
        cv.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return closing; });
        out = Reply(204, nullptr);
      }
    } else if (r.method == "PUT" && r.path.rfind(prefix + "/jobs/", 0) == 0) {
      json doc = json::parse(r.body);
      doc["_job_id"] = r.path.substr(prefix.size() + 6);
      results.push_back(doc);
      out = Reply(200, json{{"ok", true}});
    }
    cv.notify_all();
    return out;
  }

  std::vector<json> jobs_;
  std::unique_ptr<HttpServer> server_;
};

WorkerOptions TestWorkerOptions(const std::string& url) {
  return WorkerOptions{.server_url = url,
                       .api_key = "test-api-key",
                       .environment = "production",
                       .concurrency = 2,
                       .worker_id = "test-worker",
                       .lease_ms = 600,
                       .poll_wait_ms = 100};
}

TEST(SdkWorker, PullWorkerRegistersRunsTheJobHeartbeatsAndReportsTheResult) {
  FakeServer fake(std::vector<json>{PullJob()});
  Worker worker(TestWorkerOptions(fake.url()));
  int charge_calls = 0;
  json seen;
  worker.add(createFunction(
      {.id = "payout", .triggers = {{.event = "payout.requested"}}, .secrets = {"STRIPE_KEY"}},
      [&](Context& ctx) -> json {
        seen = {{"key", std::string(ctx.secrets.get("STRIPE_KEY"))}, {"has_extra", ctx.secrets.has("EXTRA")}};
        ctx.step.run("charge", [&] {
          ++charge_calls;
          return json{{"charge_id", "ch_new"}};
        });
        ctx.step.run("notify", [] { return json{{"sent", true}}; });
        // Stay in flight until the worker has heartbeaten (every lease_ms/3 = 200 ms while a job runs).
        bool beat = fake.WaitFor([&] { return fake.heartbeats > 0; });
        return json{{"amount", ctx.event.data["amount"]}, {"heartbeat_seen", beat}};
      }));
  std::thread runner([&] { worker.run(); });
  bool got = fake.WaitFor([&] { return !fake.results.empty(); });
  worker.stop();
  runner.join();
  ASSERT_TRUE(got) << "no result reported";

  std::lock_guard<std::mutex> lock(fake.mu);
  EXPECT_TRUE(fake.bad_requests.empty()) << fake.bad_requests.front();
  ASSERT_EQ(fake.function_registrations.size(), 1u);
  const json& reg = fake.function_registrations[0];
  EXPECT_EQ(reg["id"], "payout");
  EXPECT_EQ(reg["mode"], "pull");
  EXPECT_EQ(reg["triggers"], json::parse(R"([{"event":"payout.requested"}])"));
  EXPECT_EQ(reg["secrets"], json::parse(R"(["STRIPE_KEY"])"));
  EXPECT_EQ(reg["retry"]["max_attempts"], 3);
  EXPECT_EQ(reg["timeout_ms"], 30000);
  EXPECT_FALSE(reg.contains("url"));
  // The first poll answered 404, so the worker registered again.
  ASSERT_EQ(fake.worker_registrations.size(), 2u);
  EXPECT_EQ(fake.worker_registrations[0],
            json::parse(R"({"function_ids":["payout"],"max_concurrent_jobs":2,"lease_ms":600})"));
  EXPECT_NE(fake.poll_queries[0].find("available=2"), std::string::npos) << fake.poll_queries[0];
  EXPECT_NE(fake.poll_queries[0].find("wait_ms=100"), std::string::npos) << fake.poll_queries[0];

  EXPECT_EQ(seen["key"], "sk_test_secret_value");
  EXPECT_EQ(seen["has_extra"], false);
  EXPECT_EQ(charge_calls, 0);  // "charge" completed in an earlier attempt
  EXPECT_GE(fake.heartbeats, 1);
  ASSERT_EQ(fake.results.size(), 1u);
  const json& result = fake.results[0];
  EXPECT_EQ(result["_job_id"], "job_1");
  EXPECT_EQ(result["lease_token"], "lt_1");
  EXPECT_EQ(result["status"], "completed");
  EXPECT_EQ(result["output"], (json{{"amount", 100}, {"heartbeat_seen", true}}));
  EXPECT_EQ(result["steps"], json::parse(R"([{"id":"charge","output":{"charge_id":"ch_stored"}},
                                              {"id":"notify","output":{"sent":true}}])"));
  EXPECT_EQ(result.dump().find("sk_test_secret_value"), std::string::npos);
}

TEST(SdkWorker, StopWhileAJobRunsLetsItFinishAndReportBeforeRunReturns) {
  FakeServer fake(std::vector<json>{PullJob()});
  Worker worker(TestWorkerOptions(fake.url()));
  std::mutex mu;
  std::condition_variable cv;
  bool started = false, release = false;
  worker.add(createFunction({.id = "payout", .triggers = {{.event = "payout.requested"}}}, [&](Context&) -> json {
    std::unique_lock<std::mutex> lock(mu);
    started = true;
    cv.notify_all();
    cv.wait_for(lock, 20s, [&] { return release; });
    return json{{"finished", release}};
  }));
  std::thread runner([&] { worker.run(); });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return started; }));
  }
  worker.stop();
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  runner.join();  // run() returns only after the in-flight job's result was reported
  std::lock_guard<std::mutex> lock(fake.mu);
  ASSERT_EQ(fake.results.size(), 1u);
  EXPECT_EQ(fake.results[0]["status"], "completed");
  EXPECT_EQ(fake.results[0]["output"], (json{{"finished", true}}));
}

Worker* g_signal_worker = nullptr;
extern "C" void StopWorkerFromSignal(int) { g_signal_worker->stop(); }

TEST(SdkWorker, StopIsCallableFromASignalHandler) {
  FakeServer fake(std::vector<json>{});
  Worker worker(TestWorkerOptions(fake.url()));
  worker.add(createFunction({.id = "payout", .triggers = {{.event = "e"}}}, [](Context&) -> json { return nullptr; }));
  g_signal_worker = &worker;
  struct sigaction sa {
  }, old{};
  sa.sa_handler = StopWorkerFromSignal;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  std::thread runner([&] { worker.run(); });
  ASSERT_TRUE(fake.WaitFor([&] { return fake.polls >= 2; }));  // registered and long-polling
  ASSERT_EQ(raise(SIGUSR1), 0);                                // the handler runs on this thread, in signal context
  runner.join();
  sigaction(SIGUSR1, &old, nullptr);
  g_signal_worker = nullptr;
}

TEST(SdkShutdownSignals, FirstSigtermCallsTheCallbackAndSecondExitsAtOnce) {
  EXPECT_EXIT(
      {
        std::mutex m;
        std::condition_variable cv;
        bool called = false;
        ShutdownSignals signals([&] {
          std::lock_guard<std::mutex> lock(m);
          called = true;
          cv.notify_all();
        });
        kill(getpid(), SIGTERM);
        {
          std::unique_lock<std::mutex> lock(m);
          if (!cv.wait_for(lock, 20s, [&] { return called; })) std::_Exit(3);
        }
        kill(getpid(), SIGTERM);  // the user insists
        for (;;) pause();
      },
      ::testing::ExitedWithCode(128 + SIGTERM), "");
}

TEST(SdkWorker, RejectedConfigurationMakesRunThrowApiError) {
  HttpServer server({.host = "127.0.0.1", .port = 0, .threads = 2}, [](const HttpRequest&) {
    HttpResponse r;
    r.status = 401;
    r.body = R"({"error":{"code":"unauthenticated","message":"invalid API key"}})";
    return r;
  });
  ASSERT_TRUE(server.Start().ok());
  Worker worker(TestWorkerOptions("http://127.0.0.1:" + std::to_string(server.port())));
  worker.add(createFunction({.id = "payout", .triggers = {{.event = "e"}}}, [](Context&) -> json { return nullptr; }));
  try {
    worker.run();
    FAIL() << "run() returned";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.http_status(), 401);
    EXPECT_EQ(e.code(), "unauthenticated");
    EXPECT_EQ(std::string(e.what()).find("test-api-key"), std::string::npos);
  }
}

TEST(SdkWorker, InvalidOptionsAreRejected) {
  EXPECT_THROW(Worker({.server_url = "ftp://x"}), std::invalid_argument);
  // https:// is fine, but a CA file that cannot be read is refused up front, naming it.
  EXPECT_NO_THROW(Worker({.server_url = "https://x"}));
  try {
    Worker w({.server_url = "https://x", .ca_file = "/nonexistent/ca.pem"});
    ADD_FAILURE() << "an unreadable CA file was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/ca.pem"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Worker({.worker_id = "has space"}), std::invalid_argument);
  EXPECT_THROW(Worker({.concurrency = 0}), std::invalid_argument);
  Worker defaults({});
  EXPECT_FALSE(defaults.id().empty());
  for (char c : defaults.id()) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << defaults.id();
  }
}

}  // namespace
}  // namespace ironflow
