// Metrics: process-local counters rendered in the Prometheus text format at GET /metrics.
//
// Labels are drawn from fixed sets (route patterns like "/api/v1/secrets/{name}", methods, status codes,
// operation names) or from validated identifiers (environment, function id, master key id); never a secret name
// or value. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/histogram.h"
#include "runtime/runtime_stats.h"

namespace ironflow::server {

class Metrics {
 public:
  void ObserveRequest(const std::string& route, const std::string& method, int status, double seconds);
  void CountSecretOperation(const std::string& operation, const std::string& result);
  // A keyed request answered from its Idempotency-Key record (a replay or a reused key), without running.
  void CountIdempotentReplay() { idempotent_replays_.fetch_add(1, std::memory_order_relaxed); }

  // What the server reads from its parts at each scrape. Every metric is listed in docs/operations.md.
  struct Gauges {
    bool nats_connected = false;
    bool ready = false;  // what /readyz would answer
    uint64_t nats_reconnects = 0;
    uint64_t event_publish_failures = 0;
    uint64_t event_publish_retries = 0;
    uint64_t embedded_nats_restarts = 0;
    uint64_t secret_integrity_failures = 0;
    RuntimeStats runtime;
    // Encryptions reserved per master key id (ironflow-system/nonces.<key id>); empty when NATS cannot be read.
    std::vector<std::pair<std::string, uint64_t>> nonces_used;
    std::string current_key_id;  // the key this server encrypts with (label current="true"); empty in dev mode
    uint64_t nonce_limit = 0;
    struct QueueDepth {
      std::string environment, function;
      uint64_t jobs = 0;
    };
    std::vector<QueueDepth> queue_depths;  // functions with jobs stored; empty when NATS cannot be read
  };
  std::string Render(const Gauges& gauges) const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, HistogramCounts> latency_;  // by route
  std::map<std::pair<std::string, std::string>, uint64_t> secret_ops_;
  std::atomic<uint64_t> idempotent_replays_{0};
};

}  // namespace ironflow::server
