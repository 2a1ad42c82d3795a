// Idle waiters must cost a socket, not a thread: 1,000 idle pull-mode long polls (wait_ms=30000) and 200 open
// event streams (SSE) against one `ironflow serve` with default flags, while 10 keep-alive clients PUT and GET
// secrets. The same load runs first without the waiters (the baseline), then with them, in one invocation.
// Reports: secret PUT and GET throughput with/without (ratio), /healthz latency p50/p99 probed every 10 ms during
// each phase, and the server's resident memory per idle connection (VmRSS before/after opening them).
// Goals (issue "Hardening"): /healthz p99 < 50 ms and PUT throughput within 20 % with the waiters open.
// Run: build/bin/bench_idle_waiters [phase seconds, default 10]   (docs/benchmarks.md)
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/nats_fixture.h"
#include "support/raw_http.h"
#include "support/server_process.h"

namespace t = ironflow::server::testing;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kClients = 10;
constexpr int kLongPolls = 1000;
constexpr int kStreams = 200;

struct PhaseResult {
  double put_per_s = 0, get_per_s = 0;
  double healthz_p50_ms = 0, healthz_p99_ms = 0, healthz_max_ms = 0;
  size_t probes = 0;
};

PhaseResult RunPhase(const t::ServerProcess& server, int seconds) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> puts{0}, gets{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      t::ApiClient api(server.url(), server.api_key());
      const std::string name = "/api/v1/secrets/BENCH_" + std::to_string(c);
      const std::string body = json{{"value", std::string(64, 'v')}}.dump();
      while (!stop) {
        if (api.Call("PUT", name, body).status / 100 == 2) ++puts;
        if (api.Call("GET", name).status == 200) ++gets;
      }
    });
  }
  std::vector<double> latencies;
  std::thread probe([&] {
    t::ApiClient api(server.url(), server.api_key());
    while (!stop) {
      auto start = Clock::now();
      api.Call("GET", "/healthz");
      latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // pacing of the probe, not synchronisation
    }
  });
  auto started = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));  // the measurement window
  stop = true;
  for (auto& t : clients) t.join();
  probe.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  PhaseResult r;
  r.put_per_s = puts / elapsed;
  r.get_per_s = gets / elapsed;
  std::sort(latencies.begin(), latencies.end());
  r.probes = latencies.size();
  if (!latencies.empty()) {
    r.healthz_p50_ms = latencies[latencies.size() / 2];
    r.healthz_p99_ms = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
    r.healthz_max_ms = latencies.back();
  }
  return r;
}

void Print(const char* label, const PhaseResult& r) {
  std::printf("%-22s PUT %7.0f/s  GET %7.0f/s  healthz p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms  (%zu probes)\n", label,
              r.put_per_s, r.get_per_s, r.healthz_p50_ms, r.healthz_p99_ms, r.healthz_max_ms, r.probes);
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::max(2, std::atoi(argv[1])) : 10;
  t::NatsFixture nats;
  t::TempDir data;
  t::ServerProcess server({nats.url(), data.path() + "/data", t::NewMasterKey()});
  std::string error;
  if (!server.Start(&error)) {
    std::fprintf(stderr, "cannot start ironflow serve: %s\n", error.c_str());
    return 1;
  }
  t::ApiClient admin(server.url(), server.api_key());
  // A worker whose function nothing triggers: its long polls wait out their full 30 s.
  admin.Call(
      "POST", "/api/v1/functions",
      json{{"id", "idle"}, {"triggers", {{{"event", "never.happens"}}}}, {"secrets", json::array()}, {"mode", "pull"}});
  admin.Call("POST", "/api/v1/workers/idle-worker/register", json{{"function_ids", {"idle"}}});

  PhaseResult baseline = RunPhase(server, seconds);
  const long rss_before = t::ProcStatusField(server.pid(), "VmRSS");
  const long threads_before = t::ProcStatusField(server.pid(), "Threads");

  const std::string auth = "Authorization: Bearer " + server.api_key() + "\r\nX-Ironflow-Environment: default\r\n";
  std::vector<int> sockets;
  for (int i = 0; i < kLongPolls; ++i) {
    int fd = t::OpenLoopback(server.port(),
                             "GET /api/v1/workers/idle-worker/jobs?available=1&wait_ms=30000 HTTP/1.1\r\n"
                             "Host: x\r\n" +
                                 auth + "\r\n");
    if (fd >= 0) sockets.push_back(fd);
  }
  for (int i = 0; i < kStreams; ++i) {
    int fd = t::OpenLoopback(server.port(),
                             "GET /api/v1/stream?subject=system.never.> HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n");
    if (fd >= 0) sockets.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // let the server accept and park them before measuring
  const long rss_after = t::ProcStatusField(server.pid(), "VmRSS");
  const long threads_after = t::ProcStatusField(server.pid(), "Threads");

  PhaseResult loaded = RunPhase(server, seconds);
  for (int fd : sockets) ::close(fd);

  std::printf("idle waiters: %zu open (%d long polls wait_ms=30000, %d event streams); phase %d s, %d clients\n",
              sockets.size(), kLongPolls, kStreams, seconds, kClients);
  Print("without idle waiters", baseline);
  Print("with idle waiters", loaded);
  std::printf("PUT ratio with/without %.2f  GET ratio %.2f  healthz p99 with waiters %.2f ms (goal < 50 ms)\n",
              loaded.put_per_s / baseline.put_per_s, loaded.get_per_s / baseline.get_per_s, loaded.healthz_p99_ms);
  std::printf("server RSS %ld -> %ld KiB: %.1f KiB per idle connection; threads %ld -> %ld\n", rss_before, rss_after,
              sockets.empty() ? 0.0 : static_cast<double>(rss_after - rss_before) / sockets.size(), threads_before,
              threads_after);
  return 0;
}
