// Server: `ironflow serve`. Validates the configuration, starts (or connects to) NATS, opens the buckets and
// the system stream, verifies the master key, migrates dev-mode entries, creates the bootstrap API key and
// serves HTTP until Shutdown().
//
// Start() refuses unsafe configurations with a clear error: a malformed master key, --dev on a non-loopback
// address, plaintext storage on a non-loopback address without --allow-plaintext, or a key that differs from
// the one the stored data was written with. Every piece of state lives in NATS, so several servers on one NATS
// behave as one system.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace ironflow::server {

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 9123;
  std::string data_dir = ".ironflow";
  std::string nats_url;  // empty: run an embedded nats-server
  // Secured external NATS (only with nats_url): credentials file, TLS CA, client certificate and key.
  std::string nats_creds, nats_tls_ca, nats_tls_cert, nats_tls_key;
  std::string nats_server_binary;  // embedded mode: path to nats-server (IRONFLOW_NATS_SERVER); empty: search PATH
  int kv_replicas = 1;
  // Start with --kv-replicas > 1 even on NATS nodes older than the version gate's minimum (tests, staging).
  bool allow_unsafe_replicated_cas = false;
  int secret_history = 10;
  bool dev = false;                           // no authentication (loopback only)
  bool allow_plaintext = false;               // permit no master key on a non-loopback address
  std::optional<std::string> master_key_hex;  // IRONFLOW_MASTER_KEY; unset or empty: dev mode (plaintext)
  std::optional<std::string> previous_master_key_hex;
  bool recreate_key_check = false;  // the key-check record is missing: prove the key on a sealed record, write it
  int audit_retention_days = 30;    // how long the IRONFLOW_SYSTEM audit stream keeps events
  int run_retention_days = 30;      // how long a run record is kept after its last change (ironflow-runs TTL)
  int max_waiting_per_key = 256;
  // AckWait of the job queue's consumers: a job leased through a server that then dies comes back after this.
  int64_t job_ack_wait_ms = 10000;  // long polls + event streams + watches one API key may hold open at once
  int http_threads = 32;            // handler threads for requests that may block on NATS (long polls wait without one)
  int http_io_threads = 1;          // threads running the connections (parsing, TLS, writes; probes are answered there)
  std::optional<std::string> signing_key_hex;  // IRONFLOW_SIGNING_KEY; unset: generated once, kept in NATS
  // HTTPS for the API, the dashboard and pull-mode jobs: PEM certificate chain and private key (both or neither).
  std::string tls_cert, tls_key;
  // Reverse proxies (IPs or CIDR networks) whose X-Forwarded-For names the client (rate limits, logs).
  std::vector<std::string> trusted_proxies;
  std::string push_ca_file;  // CA file trusted for https:// push-mode app URLs (empty: the system trust store)
};

bool IsLoopbackHost(const std::string& host);

struct RouteInfo;  // api/router.h

class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(const ServerConfig& config);
  ~Server();
  int port() const;
  // What /readyz answers: serving, connected to NATS, and JetStream takes writes.
  bool ready() const;
  // The HTTP route table as declared (method, pattern, access level), for the access-matrix test.
  std::vector<RouteInfo> routes() const;
  // Stops HTTP, then NATS. Idempotent.
  void Shutdown();

 private:
  Server();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ironflow::server
