#include "api/metrics.h"

#include <sstream>

namespace ironflow {

void Metrics::ObserveRequest(const std::string& route, const std::string& method, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  requests_[{route, method, status}]++;
  Histogram& h = latency_[route];
  for (size_t i = 0; i < std::size(kBuckets); ++i) {
    if (seconds <= kBuckets[i]) h.buckets[i]++;
  }
  h.count++;
  h.sum += seconds;
}

void Metrics::CountSecretOperation(const std::string& operation, const std::string& result) {
  std::lock_guard<std::mutex> lock(mu_);
  secret_ops_[{operation, result}]++;
}

std::string Metrics::Render(const Gauges& g) const {
  std::ostringstream out;
  std::lock_guard<std::mutex> lock(mu_);
  out << "# HELP ironflow_http_requests_total HTTP requests by route pattern, method and status.\n"
      << "# TYPE ironflow_http_requests_total counter\n";
  for (const auto& [k, v] : requests_) {
    out << "ironflow_http_requests_total{route=\"" << std::get<0>(k) << "\",method=\"" << std::get<1>(k)
        << "\",status=\"" << std::get<2>(k) << "\"} " << v << "\n";
  }
  out << "# HELP ironflow_http_request_duration_seconds HTTP request latency by route pattern.\n"
      << "# TYPE ironflow_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    for (size_t i = 0; i < std::size(kBuckets); ++i) {
      out << "ironflow_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\"" << kBuckets[i]
          << "\"} " << h.buckets[i] << "\n";
    }
    out << "ironflow_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\"+Inf\"} " << h.count
        << "\n";
    out << "ironflow_http_request_duration_seconds_sum{route=\"" << route << "\"} " << h.sum << "\n";
    out << "ironflow_http_request_duration_seconds_count{route=\"" << route << "\"} " << h.count << "\n";
  }
  out << "# HELP ironflow_secret_operations_total Secret operations by kind and result.\n"
      << "# TYPE ironflow_secret_operations_total counter\n";
  for (const auto& [k, v] : secret_ops_) {
    out << "ironflow_secret_operations_total{operation=\"" << k.first << "\",result=\"" << k.second << "\"} " << v
        << "\n";
  }
  out << "# HELP ironflow_nats_connected 1 while the NATS connection is up.\n"
      << "# TYPE ironflow_nats_connected gauge\n"
      << "ironflow_nats_connected " << (g.nats_connected ? 1 : 0) << "\n"
      << "# HELP ironflow_nats_reconnects_total Reconnections to NATS since start.\n"
      << "# TYPE ironflow_nats_reconnects_total counter\n"
      << "ironflow_nats_reconnects_total " << g.nats_reconnects << "\n"
      << "# HELP ironflow_event_publish_failures_total System events that could not be published.\n"
      << "# TYPE ironflow_event_publish_failures_total counter\n"
      << "ironflow_event_publish_failures_total " << g.event_publish_failures << "\n"
      << "# HELP ironflow_event_publish_retries_total System events sent again after a rejected or lost ack.\n"
      << "# TYPE ironflow_event_publish_retries_total counter\n"
      << "ironflow_event_publish_retries_total " << g.event_publish_retries << "\n"
      << "# HELP ironflow_embedded_nats_restarts_total Restarts of the embedded nats-server child.\n"
      << "# TYPE ironflow_embedded_nats_restarts_total counter\n"
      << "ironflow_embedded_nats_restarts_total " << g.embedded_nats_restarts << "\n"
      << "# HELP ironflow_secret_integrity_failures_total Stored secret records that failed to authenticate or decode.\n"
      << "# TYPE ironflow_secret_integrity_failures_total counter\n"
      << "ironflow_secret_integrity_failures_total " << g.secret_integrity_failures << "\n"
      << "# HELP ironflow_job_redeliveries_total Jobs handed out again after a lease was lost without being recorded.\n"
      << "# TYPE ironflow_job_redeliveries_total counter\n"
      << "ironflow_job_redeliveries_total " << g.job_redeliveries << "\n"
      << "# HELP ironflow_idempotent_replays_total Keyed requests answered from their Idempotency-Key record.\n"
      << "# TYPE ironflow_idempotent_replays_total counter\n"
      << "ironflow_idempotent_replays_total " << idempotent_replays_.load(std::memory_order_relaxed) << "\n";
  return out.str();
}

}  // namespace ironflow
