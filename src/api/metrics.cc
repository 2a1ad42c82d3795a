#include "api/metrics.h"

#include <sstream>

namespace ironflow::server {
namespace {

// One metric's HELP and TYPE lines.
void Header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

// A metric without labels: header and value.
void Single(std::ostringstream& out, const char* name, const char* type, const char* help, uint64_t value) {
  Header(out, name, type, help);
  out << name << " " << value << "\n";
}

// The sample lines of one histogram; `labels` is empty or `key="value",` pairs ending with a comma.
void HistogramLines(std::ostringstream& out, const char* name, const std::string& labels, const HistogramCounts& h) {
  for (size_t i = 0; i < HistogramCounts::kBounds.size(); ++i) {
    out << name << "_bucket{" << labels << "le=\"" << HistogramCounts::kBounds[i] << "\"} " << h.cumulative[i] << "\n";
  }
  out << name << "_bucket{" << labels << "le=\"+Inf\"} " << h.count << "\n";
  const std::string plain = labels.empty() ? "" : "{" + labels.substr(0, labels.size() - 1) + "}";
  out << name << "_sum" << plain << " " << h.sum << "\n";
  out << name << "_count" << plain << " " << h.count << "\n";
}

}  // namespace

void Metrics::ObserveRequest(const std::string& route, const std::string& method, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  requests_[{route, method, status}]++;
  latency_[route].Add(seconds);
}

void Metrics::CountSecretOperation(const std::string& operation, const std::string& result) {
  std::lock_guard<std::mutex> lock(mu_);
  secret_ops_[{operation, result}]++;
}

std::string Metrics::Render(const Gauges& g) const {
  std::ostringstream out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Header(out, "ironflow_http_requests_total", "counter", "HTTP requests by route pattern, method and status.");
    for (const auto& [k, v] : requests_) {
      out << "ironflow_http_requests_total{route=\"" << std::get<0>(k) << "\",method=\"" << std::get<1>(k)
          << "\",status=\"" << std::get<2>(k) << "\"} " << v << "\n";
    }
    Header(out, "ironflow_http_request_duration_seconds", "histogram", "HTTP request latency by route pattern.");
    for (const auto& [route, h] : latency_) {
      HistogramLines(out, "ironflow_http_request_duration_seconds", "route=\"" + route + "\",", h);
    }
    Header(out, "ironflow_secret_operations_total", "counter", "Secret operations by kind and result.");
    for (const auto& [k, v] : secret_ops_) {
      out << "ironflow_secret_operations_total{operation=\"" << k.first << "\",result=\"" << k.second << "\"} " << v
          << "\n";
    }
  }
  Single(out, "ironflow_ready", "gauge", "1 while the server would answer /readyz with 200.", g.ready ? 1 : 0);
  Single(out, "ironflow_nats_connected", "gauge", "1 while the NATS connection is up.", g.nats_connected ? 1 : 0);
  Single(out, "ironflow_nats_reconnects_total", "counter", "Reconnections to NATS since start.", g.nats_reconnects);
  Single(out, "ironflow_event_publish_failures_total", "counter", "System (audit) events that could not be published.",
         g.event_publish_failures);
  Single(out, "ironflow_event_publish_retries_total", "counter",
         "System events sent again after a rejected or lost ack.", g.event_publish_retries);
  Single(out, "ironflow_embedded_nats_restarts_total", "counter", "Restarts of the embedded nats-server child.",
         g.embedded_nats_restarts);
  Single(out, "ironflow_secret_integrity_failures_total", "counter",
         "Stored secret records that failed to authenticate or decode.", g.secret_integrity_failures);
  Single(out, "ironflow_idempotent_replays_total", "counter",
         "Keyed requests answered from their Idempotency-Key record.",
         idempotent_replays_.load(std::memory_order_relaxed));

  Header(out, "ironflow_nonce_budget_used", "gauge",
         "AES-GCM encryptions made or reserved under each master key id, over all servers.");
  for (const auto& [key_id, used] : g.nonces_used) {
    out << "ironflow_nonce_budget_used{key_id=\"" << key_id << "\",current=\""
        << (key_id == g.current_key_id ? "true" : "false") << "\"} " << used << "\n";
  }
  Single(out, "ironflow_nonce_budget_limit", "gauge", "Encryptions allowed per master key (2^32).", g.nonce_limit);

  Header(out, "ironflow_runtime_queue_depth", "gauge",
         "Jobs stored per function: waiting, in retry backoff, or leased and unsettled.");
  for (const auto& q : g.queue_depths) {
    out << "ironflow_runtime_queue_depth{environment=\"" << q.environment << "\",function=\"" << q.function << "\"} "
        << q.jobs << "\n";
  }
  const RuntimeStats& r = g.runtime;
  Single(out, "ironflow_runs_finished_total", "counter", "Runs this server recorded as completed or failed.",
         r.runs_finished);
  Single(out, "ironflow_lease_expiries_total", "counter",
         "Attempts recorded as failed because their lease ran out (worker or push call gone or too slow).",
         r.lease_expiries);
  Header(out, "ironflow_attempt_failures_total", "counter", "Failed attempts by reason.");
  out << "ironflow_attempt_failures_total{reason=\"error\"} " << r.attempt_failures_error << "\n"
      << "ironflow_attempt_failures_total{reason=\"lease_expired\"} " << r.lease_expiries << "\n";
  Single(out, "ironflow_job_redeliveries_total", "counter",
         "Jobs handed out again after a lease was lost without being recorded.", r.job_redeliveries);
  Single(out, "ironflow_job_consumers_recreated_total", "counter",
         "Job consumers found without a leader (nats-server 2.9.10 after a meta leader loss) and made again.",
         r.job_consumers_recreated);
  Header(out, "ironflow_delivery_latency_seconds", "histogram",
         "Time from an attempt becoming available to a worker or push call taking it.");
  HistogramLines(out, "ironflow_delivery_latency_seconds", "", r.delivery_latency);
  return out.str();
}

}  // namespace ironflow::server
