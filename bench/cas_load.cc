// Load test of compare-and-set rotations through the HTTP API: 8 concurrent writers x 1,000 acknowledged updates
// of ONE secret (each read-revision + PUT If-Match, retried on 412). Checks that every acknowledged write got its
// own revision, that the kept history holds the newest acknowledged revisions in order, and that the value the
// runtime delivers afterwards is the last acknowledged one (no lost update). Prints the counts; exits 1 on any
// violation. Run: build/bin/load_cas [writers] [updates-per-writer]   (see docs/benchmarks.md)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "support/nats_fixture.h"
#include "support/server_process.h"

namespace t = ironflow::server::testing;
using nlohmann::json;

int main(int argc, char** argv) {
  const int writers = argc > 1 ? std::atoi(argv[1]) : 8;
  const int each = argc > 2 ? std::atoi(argv[2]) : 1000;
  t::NatsFixture nats;
  t::TempDir data;
  t::ServerProcess server({nats.url(), data.path() + "/data", t::NewMasterKey()});
  std::string error;
  if (!server.Start(&error)) {
    std::fprintf(stderr, "cannot start ironflow serve: %s\n", error.c_str());
    return 1;
  }
  t::ApiClient api(server.url(), server.api_key());
  if (api.Call("PUT", "/api/v1/secrets/LOAD", json{{"value", "initial-value"}}).status != 201) return 1;

  std::mutex mu;
  std::map<uint64_t, std::string> acknowledged;  // revision -> value
  std::atomic<long> conflicts{0}, errors{0}, duplicate_revisions{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      t::ApiClient client(server.url(), server.api_key());
      for (int n = 0; n < each; ++n) {
        const std::string value = "load-w" + std::to_string(w) + "-n" + std::to_string(n);
        for (;;) {
          auto cur = client.Call("GET", "/api/v1/secrets/LOAD");
          if (cur.status != 200) {
            errors++;
            break;
          }
          const uint64_t rev = cur.body["revision"];
          auto put =
              client.Call("PUT", "/api/v1/secrets/LOAD", json{{"value", value}}, {{"If-Match", std::to_string(rev)}});
          if (put.status == 412) {
            conflicts++;
            continue;
          }
          if (put.status != 200) {
            errors++;
            break;
          }
          std::lock_guard<std::mutex> lock(mu);
          if (!acknowledged.emplace(put.body["revision"].get<uint64_t>(), value).second) duplicate_revisions++;
          break;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  bool ok = errors == 0 && duplicate_revisions == 0 && acknowledged.size() == static_cast<size_t>(writers * each);
  const uint64_t last_rev = acknowledged.empty() ? 0 : acknowledged.rbegin()->first;
  auto head = api.Call("GET", "/api/v1/secrets/LOAD");
  const bool head_is_last = head.body.value("revision", uint64_t{0}) == last_rev;
  ok = ok && head_is_last;

  // The kept history: newest first, strictly decreasing, and exactly the newest acknowledged revisions.
  auto versions = api.Call("GET", "/api/v1/secrets/LOAD/versions").body["versions"];
  bool history_ok = !versions.empty();
  auto it = acknowledged.rbegin();
  for (const auto& v : versions) {
    if (it == acknowledged.rend()) break;  // the oldest kept one may be the initial value
    history_ok = history_ok && v["revision"].get<uint64_t>() == it->first;
    ++it;
  }
  ok = ok && history_ok;

  // The value the runtime delivers now is the last acknowledged one.
  api.Call("POST", "/api/v1/functions",
           json{{"id", "reader"}, {"triggers", {{{"event", "read.now"}}}}, {"secrets", {"LOAD"}}, {"mode", "pull"}});
  api.Call("POST", "/api/v1/workers/w/register",
           json{{"function_ids", {"reader"}}, {"max_concurrent_jobs", 1}, {"lease_ms", 30000}});
  api.Call("POST", "/api/v1/events", json{{"name", "read.now"}, {"data", json::object()}});
  auto jobs = api.Call("GET", "/api/v1/workers/w/jobs?available=1&wait_ms=10000");
  std::string delivered = jobs.status == 200 ? jobs.body["jobs"][0]["context"]["secrets"].value("LOAD", "") : "";
  const bool final_ok = !acknowledged.empty() && delivered == acknowledged.rbegin()->second;
  ok = ok && final_ok;

  std::printf("writers=%d updates_each=%d acknowledged=%zu distinct_revisions=%zu duplicate_revisions=%ld\n", writers,
              each, acknowledged.size(), acknowledged.size(), duplicate_revisions.load());
  std::printf("conflicts_412=%ld errors=%ld seconds=%.1f acknowledged_per_s=%.0f\n", conflicts.load(), errors.load(),
              seconds, acknowledged.size() / seconds);
  std::printf(
      "head_is_last_acknowledged=%s history_kept=%zu history_is_newest_acknowledged_in_order=%s "
      "delivered_value_is_last_acknowledged=%s\n",
      head_is_last ? "yes" : "NO", versions.size(), history_ok ? "yes" : "NO", final_ok ? "yes" : "NO");
  std::printf("%s\n", ok ? "PASS: no lost or duplicated update" : "FAIL");
  server.Stop();
  return ok ? 0 : 1;
}
