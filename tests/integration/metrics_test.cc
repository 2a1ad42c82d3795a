// What operators watch: every metric docs/operations.md lists is exported by /metrics (and promtool accepts the
// exposition), the runtime's metrics move with what runs do, every metric the example alert rules use is
// documented, and --log-format json writes one JSON object per log line.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "support/api_fixture.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

// The metric names in the table of docs/operations.md ("| `ironflow_...` |" rows).
std::set<std::string> DocumentedMetrics() {
  std::istringstream doc(ReadFile(IRONFLOW_SOURCE_DIR "/docs/operations.md"));
  std::set<std::string> names;
  const std::regex row(R"(^\| `(ironflow_[a-z_]+)` \|)");
  for (std::string line; std::getline(doc, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) names.insert(m[1]);
  }
  return names;
}

// The value of the sample `series` (name plus labels exactly as rendered), or -1 when absent.
double Sample(const std::string& metrics, const std::string& series) {
  const size_t at = metrics.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(metrics.substr(at + series.size() + 2));
}

class MetricsTest : public ApiTest {
 protected:
  std::string Scrape() {
    auto r = api_->Call("GET", "/metrics");
    EXPECT_EQ(r.status, 200);
    return r.raw;
  }
  // Scrapes until `series` reaches `at_least` (a lease expiry is recorded by the scheduler, not by a request).
  double AwaitSample(const std::string& series, double at_least) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    double v = -1;
    while ((v = Sample(Scrape(), series)) < at_least && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling a condition, with a deadline
    }
    return v;
  }
  // The queue depth once the stream has caught up with a settle: acks are published without a reply, so the
  // stream drops a settled message a moment after the API answered.
  double AwaitDepth(const std::string& series, double want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    double v = -2;
    while ((v = Sample(Scrape(), series)) != want && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition, with a deadline
    }
    return v;
  }
  json TakeJob(const std::string& worker) {
    auto jobs = api_->Call("GET", "/api/v1/workers/" + worker + "/jobs?available=1&wait_ms=10000");
    EXPECT_EQ(jobs.status, 200) << jobs.raw;
    return jobs.status == 200 && !jobs.body["jobs"].empty() ? jobs.body["jobs"][0] : json();
  }
};

TEST_F(MetricsTest, EveryDocumentedMetricIsExportedAndPromtoolAcceptsTheExposition) {
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/S", json{{"value", NewValue()}}).status, 201);
  const std::set<std::string> documented = DocumentedMetrics();
  ASSERT_GE(documented.size(), 19u) << "the table in docs/operations.md was not found";
  const std::string metrics = Scrape();
  for (const auto& name : documented) {
    EXPECT_NE(metrics.find("\n# TYPE " + name + " "), std::string::npos) << name << " is documented, not exported";
  }
  // And nothing exported is undocumented.
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    const std::string name = line.substr(7, line.find(' ', 7) - 7);
    EXPECT_TRUE(documented.count(name)) << name << " is exported but not in docs/operations.md";
  }
  EXPECT_EQ(Sample(metrics, "ironflow_ready"), 1);
  EXPECT_EQ(Sample(metrics, "ironflow_nonce_budget_limit"), 4294967296.0);

  // promtool's lint of the exposition format (names, types, help).
  TempDir dir;
  const std::string file = dir.path() + "/metrics.txt", out = dir.path() + "/promtool.txt";
  std::ofstream(file) << metrics;
  const int rc = std::system(("promtool check metrics < " + file + " > " + out + " 2>&1").c_str());
  EXPECT_EQ(rc, 0) << "promtool check metrics (install it with scripts/install-test-deps.sh):\n" << ReadFile(out);
}

TEST_F(MetricsTest, RuntimeMetricsFollowQueueingDeliveryFailureAndLeaseExpiry) {
  const std::string key_id = api_->Call("GET", "/api/v1/status").body["encryption"]["key_id"];
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/S", json{{"value", NewValue()}}).status, 201);
  // Gauges read from NATS come from a snapshot at most a second old: scrape until it shows the write.
  EXPECT_GE(AwaitSample("ironflow_nonce_budget_used{key_id=\"" + key_id + "\",current=\"true\"}", 1), 1);
  std::string metrics;

  auto fn = api_->Call("POST", "/api/v1/functions",
                       json{{"id", "charge"},
                            {"triggers", {{{"event", "charge.go"}}}},
                            {"secrets", {"S"}},
                            {"mode", "pull"},
                            {"retry", {{"max_attempts", 1}}}});
  ASSERT_LT(fn.status, 300) << fn.raw;
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(api_->Call("POST", "/api/v1/events", json{{"name", "charge.go"}, {"data", json::object()}}).status, 202);
  }
  const std::string depth = "ironflow_runtime_queue_depth{environment=\"default\",function=\"charge\"}";
  EXPECT_EQ(AwaitDepth(depth, 2), 2) << "two runs, no worker yet";

  // One attempt fails; the other is taken by a worker that then goes silent until its lease runs out.
  ASSERT_EQ(api_->Call("POST", "/api/v1/workers/w/register",
                       json{{"function_ids", {"charge"}}, {"max_concurrent_jobs", 1}, {"lease_ms", 500}})
                .status,
            200);
  json job = TakeJob("w");
  ASSERT_TRUE(job.is_object());
  auto failed = api_->Call("PUT", "/api/v1/workers/w/jobs/" + job["job_id"].get<std::string>(),
                           json{{"lease_token", job["lease_token"]},
                                {"status", "failed"},
                                {"error", {{"message", "card declined"}, {"retryable", false}}}});
  ASSERT_EQ(failed.status, 200) << failed.raw;
  metrics = Scrape();
  EXPECT_EQ(Sample(metrics, "ironflow_attempt_failures_total{reason=\"error\"}"), 1);
  EXPECT_EQ(Sample(metrics, "ironflow_runs_finished_total"), 1);
  EXPECT_EQ(Sample(metrics, "ironflow_delivery_latency_seconds_count"), 1);
  EXPECT_EQ(AwaitDepth(depth, 1), 1) << "the failed run's job is settled";

  ASSERT_TRUE(TakeJob("w").is_object());
  EXPECT_EQ(AwaitSample("ironflow_lease_expiries_total", 1), 1) << "the silent worker's lease ran out";
  metrics = Scrape();
  EXPECT_EQ(Sample(metrics, "ironflow_attempt_failures_total{reason=\"lease_expired\"}"), 1);
  EXPECT_EQ(Sample(metrics, "ironflow_delivery_latency_seconds_count"), 2);
  EXPECT_EQ(AwaitDepth(depth, -1), -1) << "no jobs left: the series disappears";
}

TEST(AlertRulesTest, EveryMetricTheExampleAlertsUseIsDocumented) {
  const std::set<std::string> documented = DocumentedMetrics();
  const std::string rules = ReadFile(IRONFLOW_SOURCE_DIR "/deploy/prometheus/ironflow-alerts.yml");
  ASSERT_FALSE(rules.empty());
  const std::regex metric(R"(ironflow_[a-z_]+)");
  int used = 0;
  for (auto it = std::sregex_iterator(rules.begin(), rules.end(), metric); it != std::sregex_iterator(); ++it) {
    std::string name = it->str();
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s(suffix);
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 && !documented.count(name)) {
        name.resize(name.size() - s.size());
      }
    }
    EXPECT_TRUE(documented.count(name)) << name << " is used by an alert but not documented";
    ++used;
  }
  EXPECT_GE(used, 10);
}

TEST(LogFormatJsonTest, EveryServerLogLineIsOneJsonObject) {
  NatsFixture nats;
  TempDir data;
  ServerProcess::Options o{nats.url(), data.path() + "/d", NewMasterKey()};
  o.extra_args = {"--log-format", "json"};
  ServerProcess server(o);
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  ApiClient api(server.url(), server.api_key());
  const std::string value = "v-" + RandomHex(12);
  ASSERT_EQ(api.Call("PUT", "/api/v1/secrets/S", json{{"value", value}}).status, 201);
  server.Stop();
  std::istringstream log(server.log());
  int lines = 0;
  for (std::string line; std::getline(log, line);) {
    json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << "not a JSON object: " << line;
    EXPECT_TRUE(j["time"].is_string() && j["level"].is_string() && j["msg"].is_string()) << line;
    ++lines;
  }
  EXPECT_GE(lines, 3) << server.log();
  EXPECT_EQ(server.log().find(value), std::string::npos);
  EXPECT_EQ(ServerProcess({nats.url(), data.path() + "/e", "", false, {"--log-format", "xml"}}).RunUntilExit(), 1);
}

}  // namespace
}  // namespace ironflow::server::testing
