// `ironflow serve`: flags → ServerConfig, logging set-up, signal handling.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "cli/cli.h"
#include "crypto/secure_bytes.h"
#include "server/key_sources.h"
#include "server/log_format.h"
#include "server/process_hardening.h"
#include "server/server.h"
#include "server/systemd_notify.h"

namespace ironflow::server::cli {

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto config = std::make_shared<ServerConfig>();
  auto data_dir_opt = std::make_shared<std::string>();
  auto key_files = std::make_shared<KeyFileOptions>();
  auto log_format = std::make_shared<std::string>("text");
  CLI::App* serve = app.add_subcommand("serve", "Run the Ironflow server (embedded NATS unless --nats-url)");
  serve->add_option("--host", config->host, "Address to bind")->envname("IRONFLOW_HOST")->capture_default_str();
  serve->add_option("--port", config->port, "HTTP port")->envname("IRONFLOW_PORT")->capture_default_str();
  serve->add_option("--data-dir", *data_dir_opt, "Data directory (embedded NATS store, bootstrap key)")
      ->envname("IRONFLOW_DATA_DIR");
  serve
      ->add_option("--nats-url", config->nats_url,
                   "External NATS server URL, or several comma-separated (any reachable one will do); "
                   "default: embedded nats-server")
      ->envname("NATS_URL");
  serve->add_option("--nats-creds", config->nats_creds, "Credentials file (JWT + seed) for the external NATS")
      ->envname("NATS_CREDS");
  serve
      ->add_option("--nats-tls-ca", config->nats_tls_ca, "CA file to verify the external NATS server's TLS certificate")
      ->envname("NATS_TLS_CA");
  serve->add_option("--nats-tls-cert", config->nats_tls_cert, "Client certificate for mutual TLS with NATS")
      ->envname("NATS_TLS_CERT");
  serve->add_option("--nats-tls-key", config->nats_tls_key, "Client key for mutual TLS with NATS")
      ->envname("NATS_TLS_KEY");
  serve->add_option("--kv-replicas", config->kv_replicas, "Replicas for KV buckets and the system stream")
      ->envname("IRONFLOW_KV_REPLICAS")
      ->capture_default_str();
  serve
      ->add_flag("--allow-unsafe-replicated-cas", config->allow_unsafe_replicated_cas,
                 "Start with --kv-replicas > 1 on nats-server older than 2.10.20, where compare-and-set on "
                 "replicated streams is not exact (tests and staging only)")
      ->envname("IRONFLOW_ALLOW_UNSAFE_REPLICATED_CAS");
  serve->add_option("--secret-history", config->secret_history, "Revisions kept per secret (1-64)")
      ->envname("IRONFLOW_SECRET_HISTORY")
      ->capture_default_str();
  serve
      ->add_option("--audit-retention-days", config->audit_retention_days,
                   "Days the audit stream (system events) keeps events (1-3650)")
      ->envname("IRONFLOW_AUDIT_RETENTION_DAYS")
      ->capture_default_str();
  serve
      ->add_option("--run-retention-days", config->run_retention_days,
                   "Days a run record is kept after its last change (2-3650)")
      ->envname("IRONFLOW_RUN_RETENTION_DAYS")
      ->capture_default_str();
  serve
      ->add_option("--max-waiting-per-key", config->max_waiting_per_key,
                   "Long polls, event streams and watches one API key may hold open at once (then 429)")
      ->envname("IRONFLOW_MAX_WAITING_PER_KEY")
      ->capture_default_str();
  serve
      ->add_option("--job-ack-wait-ms", config->job_ack_wait_ms,
                   "A job leased through a server that dies is handed out again after this (1000-600000; same on "
                   "every server)")
      ->envname("IRONFLOW_JOB_ACK_WAIT_MS")
      ->capture_default_str();
  serve->add_option("--http-threads", config->http_threads, "HTTP worker threads (requests may block on NATS)")
      ->envname("IRONFLOW_HTTP_THREADS")
      ->capture_default_str();
  serve
      ->add_option("--http-io-threads", config->http_io_threads,
                   "Threads running the HTTP connections (raise it for many new TLS connections per second)")
      ->envname("IRONFLOW_HTTP_IO_THREADS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  serve->add_option("--tls-cert", config->tls_cert, "PEM certificate chain: serve the API and dashboard over HTTPS")
      ->envname("IRONFLOW_TLS_CERT");
  serve->add_option("--tls-key", config->tls_key, "PEM private key of --tls-cert")->envname("IRONFLOW_TLS_KEY");
  serve
      ->add_option("--push-ca-file", config->push_ca_file,
                   "CA file trusted for https:// push-mode app URLs (default: the system trust store)")
      ->envname("IRONFLOW_PUSH_CA_FILE");
  serve
      ->add_option("--trusted-proxy", config->trusted_proxies,
                   "Reverse proxy (IP or CIDR, repeatable) whose X-Forwarded-For names the client")
      ->envname("IRONFLOW_TRUSTED_PROXIES")
      ->delimiter(',');
  serve
      ->add_option("--master-key-file", key_files->master_key_file,
                   "File holding the master key (64 hex chars, mode 0600) instead of IRONFLOW_MASTER_KEY")
      ->envname("IRONFLOW_MASTER_KEY_FILE");
  serve
      ->add_option("--master-key-previous-file", key_files->previous_master_key_file,
                   "File holding the previous master key during a rotation")
      ->envname("IRONFLOW_MASTER_KEY_PREVIOUS_FILE");
  serve->add_flag("--recreate-key-check", config->recreate_key_check,
                  "The key-check record is missing: prove the master key by opening a sealed record, then write it");
  serve->add_option("--log-format", *log_format, "Log lines as text (for people) or json (JSON Lines, for shippers)")
      ->envname("IRONFLOW_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  serve->add_flag("--dev", config->dev, "No authentication (loopback addresses only)");
  serve->add_flag("--allow-plaintext", config->allow_plaintext,
                  "Allow running without IRONFLOW_MASTER_KEY on a non-loopback address");

  serve->callback([config, data_dir_opt, key_files, log_format, exit_code, &app] {
    SetUpServerLogging(ParseLogFormat(*log_format).value_or(LogFormat::kText));
    // Global --data-dir applies unless serve's own was given.
    config->data_dir = !data_dir_opt->empty() ? *data_dir_opt : app.get_option("--data-dir")->as<std::string>();
    if (const char* b = std::getenv("IRONFLOW_NATS_SERVER")) config->nats_server_binary = b;
    // No core dumps and not dumpable before any key is read; then the keys are read once and their variables
    // wiped from this process's environment block.
    for (const auto& problem : HardenProcess()) spdlog::warn("hardening: {}", problem);
    auto keys = ReadServerKeys(*key_files);
    ScrubKeyVariables();
    if (!keys.ok()) {
      spdlog::critical("cannot start: {}", keys.status().message());
      *exit_code = 1;
      return;
    }
    if (keys->master_hex) config->master_key_hex = std::string(keys->master_hex->view());
    if (keys->previous_hex) config->previous_master_key_hex = std::string(keys->previous_hex->view());
    if (keys->signing_hex) config->signing_key_hex = std::string(keys->signing_hex->view());
    if (keys->master_hex && !keys->master_source.empty() && keys->master_source != "IRONFLOW_MASTER_KEY") {
      spdlog::info("master key read from {}", keys->master_source);
    }
    *keys = ServerKeys{};  // wipes the hex copies read above

    // Block the stop signals in every thread; the main thread waits for them below.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    auto server = Server::Start(*config);
    // The server holds the parsed keys; the hex copies in the configuration are wiped once it has started.
    for (auto* k : {&config->master_key_hex, &config->previous_master_key_hex, &config->signing_key_hex}) {
      if (*k) Cleanse(**k);
    }
    if (!server.ok()) {
      spdlog::critical("cannot start: {}", server.status().message());
      *exit_code = 1;
      return;
    }
    // Under systemd (Type=notify): READY=1 once /readyz would answer 200, STOPPING=1 on the way out.
    const SystemdNotifier notifier = SystemdNotifier::FromEnvironment();
    std::atomic<bool> stopping{false};
    std::thread notify_ready;
    if (notifier.enabled()) {
      notify_ready = std::thread([&notifier, &stopping, srv = server->get()] {
        while (!stopping.load() && !srv->ready()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (stopping.load()) return;
        if (Status st = notifier.Notify("READY=1\nSTATUS=serving"); !st.ok()) spdlog::warn("{}", st.message());
      });
    }
    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    stopping = true;
    if (notify_ready.joinable()) notify_ready.join();
    (void)notifier.Notify("STOPPING=1");
    (*server)->Shutdown();
    spdlog::info("stopped");
  });
}

}  // namespace ironflow::server::cli
