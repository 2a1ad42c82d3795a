// Metrics: process-local counters rendered in the Prometheus text format at GET /metrics.
//
// Labels are drawn from fixed sets (route patterns like "/api/v1/secrets/{name}", methods, status codes,
// operation names); never a secret name or value. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace ironflow {

class Metrics {
 public:
  void ObserveRequest(const std::string& route, const std::string& method, int status, double seconds);
  void CountSecretOperation(const std::string& operation, const std::string& result);
  // A keyed request answered from its Idempotency-Key record (a replay or a reused key), without running.
  void CountIdempotentReplay() { idempotent_replays_.fetch_add(1, std::memory_order_relaxed); }

  struct Gauges {
    bool nats_connected = false;
    uint64_t nats_reconnects = 0;
    uint64_t event_publish_failures = 0;
    uint64_t event_publish_retries = 0;
    uint64_t embedded_nats_restarts = 0;
    uint64_t secret_integrity_failures = 0;
    uint64_t job_redeliveries = 0;
  };
  std::string Render(const Gauges& gauges) const;

 private:
  static constexpr double kBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  struct Histogram {
    std::vector<uint64_t> buckets = std::vector<uint64_t>(std::size(kBuckets), 0);
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;  // by route
  std::map<std::pair<std::string, std::string>, uint64_t> secret_ops_;
  std::atomic<uint64_t> idempotent_replays_{0};
};

}  // namespace ironflow
