#include "server/server.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "api/api_util.h"
#include "api/idempotency.h"
#include "api/metrics.h"
#include "api/request_context.h"
#include "api/router.h"
#include "api/routes.h"
#include "auth/api_key_store.h"
#include "common/snapshot.h"
#include "config/config_store.h"
#include "crypto/master_key.h"
#include "events/system_events.h"
#include "http/client_address.h"
#include "http/http_server.h"
#include "kv/user_buckets.h"
#include "layout/store_layout.h"
#include "push/push_dispatcher.h"
#include "runtime/engine.h"
#include "runtime/event_log.h"
#include "runtime/function_registry.h"
#include "runtime/run_store.h"
#include "runtime/signing_keyring.h"
#include "runtime/worker_registry.h"
#include "secrets/environment_store.h"
#include "secrets/key_check.h"
#include "secrets/nonce_budget.h"
#include "secrets/secret_store.h"
#include "server/nats_version_gate.h"
#include "store/embedded_nats.h"
#include "store/jetstream_health.h"
#include "store/job_queue.h"
#include "store/kv_bucket.h"
#include "store/kv_mirror.h"
#include "store/kv_watch.h"
#include "store/nats_connection.h"
#include "store/stream_admin.h"
#include "store/system_stream.h"

namespace ironflow::server {

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

namespace {

// Runs `work` on its own thread each time Request() is called; requests made while it runs coalesce into one
// more run. Used for work a nats.c callback asks for but must not do on nats.c's only callback thread.
class Coalescer {
 public:
  explicit Coalescer(std::function<void()> work) : work_(std::move(work)), thread_([this] { Loop(); }) {}
  ~Coalescer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Request() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      wanted_ = true;
    }
    cv_.notify_all();
  }

 private:
  void Loop() {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return wanted_ || stop_; });
        if (stop_) return;
        wanted_ = false;
      }
      work_();
    }
  }
  std::function<void()> work_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false, stop_ = false;
  std::thread thread_;  // last: started once the rest is set up
};

}  // namespace

// Members are declared in dependency order: destruction runs in reverse, so HTTP stops before the planes, the
// planes before the buckets, the buckets before the connection, the connection before the embedded NATS.
struct Server::Impl {
  // What the NATS nodes said about themselves (version gate, /api/v1/status); refreshed after each reconnect.
  // Declared before the connection, whose reconnect callback writes it.
  mutable std::mutex survey_mu;
  NatsSurvey survey;
  std::unique_ptr<Coalescer> resurvey;  // after a reconnect; outlives the connection that asks for it
  std::unique_ptr<EmbeddedNats> embedded;
  std::unique_ptr<NatsConnection> nats;
  std::array<std::unique_ptr<KvBucket>, static_cast<size_t>(StoreBucket::kCount)> buckets;  // layout/store_layout.h
  bool replicated_cas_safe = false;  // may a user bucket ask for more replicas than --kv-replicas?
  std::optional<SystemStream> system_stream;
  std::optional<EventLog> event_log;
  std::unique_ptr<JobQueue> jobs;
  std::unique_ptr<NonceBudget> nonce_budget;  // counts the current master key's encryptions
  std::unique_ptr<ValueSealer> sealer;
  std::unique_ptr<SystemEvents> events;
  std::unique_ptr<SecretStore> secrets;
  std::unique_ptr<EnvironmentStore> environments;
  std::unique_ptr<ConfigStore> config_store;
  std::unique_ptr<UserBuckets> kv;
  std::unique_ptr<KvKeys> kv_keys;
  std::unique_ptr<AuditLog> audit_log;
  std::unique_ptr<LiveEvents> live_events;
  std::unique_ptr<KvWatch> secrets_watch;  // feeds SecretStore's sealed-record cache
  std::unique_ptr<ApiKeyStore> api_keys;
  std::unique_ptr<KvMirror> functions_mirror, unfinished_runs;
  std::unique_ptr<FunctionRegistry> functions;
  std::unique_ptr<RunStore> runs;
  std::unique_ptr<WorkerRegistry> workers;
  std::unique_ptr<SigningKeyring> signing;
  std::unique_ptr<PushDispatcher> push;  // before the engine, which calls through it (and stops it)
  std::unique_ptr<Engine> engine;
  Metrics metrics;
  FailureLimiter auth_failures{10.0, 20.0};  // failed authentications per client address: 10/s, burst 20
  std::unique_ptr<ApiContext> ctx;
  std::unique_ptr<WaiterQuota> waiters;           // before the router, which points at it
  std::unique_ptr<IdempotencyStore> idempotency;  // before the router, which points at it
  std::unique_ptr<Router> router;
  std::unique_ptr<JetStreamHealth> jetstream_health;  // /readyz: can the streams we write to take writes?
  // What /metrics reads from NATS: the job queue's depth per function and every key id's nonce count.
  struct StoredGauges {
    std::vector<Metrics::Gauges::QueueDepth> queue_depths;
    std::vector<std::pair<std::string, uint64_t>> nonces_used;
  };
  StoredGauges ReadStoredGauges() const {
    StoredGauges out;
    if (auto depths = jobs->Depths(); depths.ok()) {
      for (const auto& d : *depths) out.queue_depths.push_back({d.environment, d.function_id, d.jobs});
    }
    if (auto nonces = NonceBudget::ReadAll(bucket(StoreBucket::kSystem)); nonces.ok()) {
      for (const auto& u : *nonces) out.nonces_used.emplace_back(u.key_id, u.reserved);
    }
    return out;
  }
  // /metrics is unauthenticated: however often it is scraped, NATS is read at most once a second.
  Snapshot<StoredGauges> stored_gauges{std::chrono::seconds(1), [this] { return ReadStoredGauges(); }};
  std::unique_ptr<HttpServer> http;
  std::atomic<bool> ready{false};
  SystemInfo system_info;  // what /readyz and /api/v1/status read (set once the routes are added)

  // The runtime's counters, and the snapshot of what NATS holds (/metrics).
  void FillGauges(Metrics::Gauges* g) {
    g->embedded_nats_restarts = embedded ? embedded->restarts() : 0;
    if (engine) g->runtime = engine->stats();
    StoredGauges stored = stored_gauges.Get();
    g->queue_depths = std::move(stored.queue_depths);
    g->nonces_used = std::move(stored.nonces_used);
  }

  KvBucket& bucket(StoreBucket b) const { return *buckets[static_cast<size_t>(b)]; }

  // The phases of Start, in order (server.cc). Each leaves here what it built; after an error the destructor
  // takes down whatever exists, in reverse order.
  Status ConnectNats(const ServerConfig& config);
  Status OpenStorage(const ServerConfig& config);
  Status BuildPlanes(const ServerConfig& config, std::optional<MasterKey> key, std::optional<MasterKey> previous);
  Status ServeApi(const ServerConfig& config, SecureBytes fingerprint_key, SecureBytes previous_fingerprint_key);

  std::vector<NatsServerInfo> Survey() const {
    std::lock_guard<std::mutex> lock(survey_mu);
    return survey.reached;
  }
};

Server::Server() : impl_(std::make_unique<Impl>()) {}
Server::~Server() { Shutdown(); }
int Server::port() const { return impl_->http ? impl_->http->port() : 0; }

std::vector<RouteInfo> Server::routes() const {
  return impl_->router ? impl_->router->routes() : std::vector<RouteInfo>{};
}

bool Server::ready() const {
  return impl_->nats && impl_->system_info.ready && CheckReadiness(impl_->system_info).ok();
}

void Server::Shutdown() {
  impl_->ready = false;
  // With NATS unreachable, every store call (and each watch's consumer clean-up) would wait out its timeout:
  // close the connection so they fail at once and SIGTERM still ends the process promptly.
  if (impl_->nats && !impl_->nats->connected()) {
    spdlog::warn("NATS is unreachable at shutdown; closing the connection without cleaning up watch consumers");
    impl_->nats->Close();
  }
  // The engine first: pending long polls then answer 204 instead of leasing, so the HTTP server drains at once.
  if (impl_->engine) impl_->engine->Stop();
  if (impl_->http) impl_->http->Stop();
  impl_->jetstream_health.reset();
  // Stopping the watch deletes its consumer on the server: do it while NATS is still up.
  impl_->secrets_watch.reset();
  impl_->functions_mirror.reset();
  impl_->unfinished_runs.reset();
  if (impl_->embedded) impl_->embedded->Stop();
}

namespace {

Status ValidateConfig(const ServerConfig& c, std::optional<MasterKey>* key, std::optional<MasterKey>* previous) {
  if (c.port < 0 || c.port > 65535) return Status::InvalidArgument("--port must be 0-65535");
  if (c.kv_replicas < 1 || c.kv_replicas > 5) return Status::InvalidArgument("--kv-replicas must be 1-5");
  if (c.secret_history < 1 || c.secret_history > 64) return Status::InvalidArgument("--secret-history must be 1-64");
  if (c.job_ack_wait_ms < 1000 || c.job_ack_wait_ms > 600000) {
    return Status::InvalidArgument("--job-ack-wait-ms must be 1000-600000");
  }
  if (c.max_waiting_per_key < 1 || c.max_waiting_per_key > 100000) {
    return Status::InvalidArgument("--max-waiting-per-key must be 1-100000");
  }
  const bool secured =
      !c.nats_creds.empty() || !c.nats_tls_ca.empty() || !c.nats_tls_cert.empty() || !c.nats_tls_key.empty();
  if (secured && c.nats_url.empty()) {
    return Status::InvalidArgument("--nats-creds and --nats-tls-* are for an external NATS (--nats-url)");
  }
  if (c.nats_tls_cert.empty() != c.nats_tls_key.empty()) {
    return Status::InvalidArgument("--nats-tls-cert and --nats-tls-key go together");
  }
  if (auto proxies = TrustedProxies::Parse(c.trusted_proxies); !proxies.ok()) return proxies.status();
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return Status::InvalidArgument("--tls-cert and --tls-key go together");
  }
  for (const std::string* file : {&c.tls_cert, &c.tls_key, &c.push_ca_file}) {
    if (!file->empty() && ::access(file->c_str(), R_OK) != 0) {
      return Status::InvalidArgument("cannot read " + *file + ": " + std::strerror(errno));
    }
  }
  if (!c.tls_cert.empty()) {
    HttpServer::Options tls;
    tls.tls_cert_file = c.tls_cert;
    tls.tls_key_file = c.tls_key;
    IF_RETURN_IF_ERROR(HttpServer::CheckTls(tls));
  }
  if (c.audit_retention_days < 1 || c.audit_retention_days > 3650) {
    return Status::InvalidArgument("--audit-retention-days must be 1-3650");
  }
  // Unfinished runs are rewritten at least once per attempt; the longest retry delay is one day.
  if (c.run_retention_days < 2 || c.run_retention_days > 3650) {
    return Status::InvalidArgument("--run-retention-days must be 2-3650");
  }
  if (c.master_key_hex && !c.master_key_hex->empty()) {
    IF_ASSIGN_OR_RETURN(auto k, MasterKey::FromHex(*c.master_key_hex));
    key->emplace(std::move(k));
  }
  if (c.previous_master_key_hex && !c.previous_master_key_hex->empty()) {
    if (!key->has_value()) {
      return Status::InvalidArgument("IRONFLOW_MASTER_KEY_PREVIOUS needs IRONFLOW_MASTER_KEY (the key to rotate to)");
    }
    auto p = MasterKey::FromHex(*c.previous_master_key_hex);
    if (!p.ok()) return Status::InvalidArgument("IRONFLOW_MASTER_KEY_PREVIOUS: " + p.status().message());
    previous->emplace(std::move(p).value());
  }
  const bool loopback = IsLoopbackHost(c.host);
  if (c.dev && !loopback) {
    return Status::InvalidArgument("--dev disables authentication and may only bind a loopback address (--host " +
                                   c.host + " is not one)");
  }
  if (!key->has_value() && !loopback && !c.allow_plaintext) {
    return Status::InvalidArgument(
        "IRONFLOW_MASTER_KEY is not set, so secrets would be stored unencrypted, and --host " + c.host +
        " is not a loopback address; set IRONFLOW_MASTER_KEY (64 hex chars) or pass --allow-plaintext");
  }
  return Status::Ok();
}

}  // namespace

namespace {

void AnnounceEncryption(const std::optional<MasterKey>& key) {
  if (key) {
    spdlog::info("encryption: AES-256-GCM, master key id {}", key->key_id());
    return;
  }
  spdlog::warn("**************************************************************************");
  spdlog::warn("DEV MODE: IRONFLOW_MASTER_KEY is not set. Secret values are stored UNENCRYPTED");
  spdlog::warn("in NATS. Set IRONFLOW_MASTER_KEY (64 hex chars) before storing real secrets.");
  spdlog::warn("**************************************************************************");
}

// Deleting an environment deletes its config documents and KV buckets too (secrets are the store's own).
void AddEnvironmentContents(EnvironmentStore& environments, ConfigStore& config, UserBuckets& kv) {
  ConfigStore* config_store = &config;
  environments.AddContents({"config document(s)",
                            [config_store](const std::string& env) -> Result<size_t> {
                              IF_ASSIGN_OR_RETURN(auto names, config_store->Names(env));
                              return names.size();
                            },
                            [config_store](const std::string& env, const Actor& actor) -> Status {
                              IF_ASSIGN_OR_RETURN(auto names, config_store->Names(env));
                              for (const auto& n : names) {
                                IF_RETURN_IF_ERROR(config_store->Delete(env, n, std::nullopt, actor));
                              }
                              return Status::Ok();
                            }});
  UserBuckets* buckets = &kv;
  environments.AddContents({"KV bucket(s)",
                            [buckets](const std::string& env) -> Result<size_t> {
                              IF_ASSIGN_OR_RETURN(auto list, buckets->List(env));
                              return list.size();
                            },
                            [buckets](const std::string& env, const Actor& actor) -> Status {
                              IF_ASSIGN_OR_RETURN(auto list, buckets->List(env));
                              for (const auto& b : list) {
                                Status st = buckets->Delete(env, b.name, actor);
                                if (!st.ok() && !st.is(Code::kNotFound)) return st;
                              }
                              return Status::Ok();
                            }});
}

}  // namespace

// Start, phase 1: the embedded nats-server (without --nats-url), the connection, and the version gate.
Status Server::Impl::ConnectNats(const ServerConfig& config) {
  std::string nats_url = config.nats_url;
  if (nats_url.empty()) {
    EmbeddedNats::Options eo;
    eo.binary = config.nats_server_binary;
    eo.store_dir = config.data_dir + "/nats";
    eo.log_file = config.data_dir + "/nats-server.log";
    IF_ASSIGN_OR_RETURN(auto started, EmbeddedNats::Start(eo));
    embedded = std::move(started);
    nats_url = embedded->url();
    spdlog::info("embedded nats-server started on {} (store {}, log {})", nats_url, eo.store_dir, eo.log_file);
  }

  NatsConnection::Options no;
  no.url = nats_url;
  no.name = "ironflow-server";
  no.creds_file = config.nats_creds;
  no.tls_ca_file = config.nats_tls_ca;
  no.tls_cert_file = config.nats_tls_cert;
  no.tls_key_file = config.nats_tls_key;
  // After a reconnect (possibly to another node, possibly upgraded or replaced): look at the versions again.
  const std::vector<std::string> seed_urls = SplitNatsUrls(nats_url);
  resurvey = std::make_unique<Coalescer>([this, seed_urls, replicas = config.kv_replicas] {
    NatsSurvey fresh = SurveyNatsServers(seed_urls, 1000);
    if (Status gate = CheckReplicatedCas(fresh, replicas); !gate.ok())
      spdlog::error("after reconnect: {}", gate.message());
    std::lock_guard<std::mutex> lock(survey_mu);
    survey = std::move(fresh);
  });
  no.on_reconnected = [again = resurvey.get()] { again->Request(); };
  IF_ASSIGN_OR_RETURN(auto nc, NatsConnection::Connect(no));
  nats = std::move(nc);
  {
    const auto now = nats->connected_server();
    spdlog::info("connected to NATS at {} (server {})", now.url, now.server_id);
  }

  NatsSurvey found = SurveyNatsServers(seed_urls, 1000);
  spdlog::info("NATS nodes: {}", DescribeSurvey(found));
  if (config.kv_replicas > 1 && !found.unreachable.empty() && !found.reached.empty()) {
    spdlog::warn("NATS nodes whose version could not be read (not checked by the version gate): {}",
                 DescribeSurvey(NatsSurvey{{}, found.unreachable}));
  }
  if (Status gate = CheckReplicatedCas(found, config.kv_replicas); !gate.ok()) {
    if (!config.allow_unsafe_replicated_cas) return gate;
    spdlog::warn("--allow-unsafe-replicated-cas: starting anyway. {}", gate.message());
  }
  // May a user bucket ask for more replicas than --kv-replicas?
  replicated_cas_safe = config.allow_unsafe_replicated_cas || CheckReplicatedCas(found, 3).ok();
  std::lock_guard<std::mutex> lock(survey_mu);
  survey = std::move(found);
  return Status::Ok();
}

// Start, phase 2: every bucket of the store layout (one loop over one table), then the streams. Each is opened or
// created on a thread of its own: on a replicated cluster every creation is a round of Raft proposals (about a
// third of a second each on nats-server 2.9.10), and one after another they took 7 s of a first start.
Status Server::Impl::OpenStorage(const ServerConfig& config) {
  const StoreLayout layout(config.secret_history, config.run_retention_days);
  std::vector<std::future<Status>> opening;
  for (const StoreBucketSpec& spec : layout.buckets) {
    opening.push_back(std::async(std::launch::async, [this, &config, spec]() -> Status {
      auto b = KvBucket::OpenOrCreate(
          *nats, {spec.name, spec.description, spec.history, config.kv_replicas, spec.max_value_bytes, spec.ttl_ms});
      if (!b.ok()) return b.status();
      buckets[static_cast<size_t>(spec.id)] = std::move(b).value();
      // A TTL is also set on a bucket made earlier without it (or with another one).
      if (spec.ttl_ms <= 0) return Status::Ok();
      return SetStreamMaxAge(*nats, std::string("KV_") + spec.name, spec.ttl_ms * 1000000,
                             std::string("KV bucket ") + spec.name);
    }));
  }
  opening.push_back(std::async(std::launch::async, [this, &config]() -> Status {
    IF_ASSIGN_OR_RETURN(auto stream, SystemStream::Ensure(*nats, config.kv_replicas, config.audit_retention_days));
    system_stream.emplace(stream);
    return Status::Ok();
  }));
  opening.push_back(std::async(std::launch::async, [this, &config]() -> Status {
    IF_ASSIGN_OR_RETURN(auto events_stream, EventLog::Ensure(*nats, config.kv_replicas));
    event_log.emplace(events_stream);
    return Status::Ok();
  }));
  opening.push_back(std::async(std::launch::async, [this, &config]() -> Status {
    IF_ASSIGN_OR_RETURN(auto queue, JobQueue::Open(*nats, config.kv_replicas, config.job_ack_wait_ms));
    jobs = std::move(queue);
    return Status::Ok();
  }));
  Status first = Status::Ok();
  for (auto& f : opening) {  // every one is waited for: they use this object
    Status s = f.get();
    if (first.ok() && !s.ok()) first = s;
  }
  IF_RETURN_IF_ERROR(first);
  // Before attempts moved into the run records they were kept in their own bucket; say so if one is left.
  if (auto old_jobs = KvBucket::Open(*nats, kLegacyJobsBucket); old_jobs.ok()) {
    if (auto left = (*old_jobs)->List(">"); left.ok() && !left->empty()) {
      spdlog::warn(
          "{} attempt(s) in the old job queue (KV bucket {}) are not resumed by this version: re-emit "
          "their events if needed, then delete the bucket (docs/decisions.md, \"Attempts live in their "
          "run record\")",
          left->size(), kLegacyJobsBucket);
    }
  }
  jetstream_health = std::make_unique<JetStreamHealth>(
      *nats, std::vector<std::string>{
                 std::string(SystemStream::kName), std::string("KV_") + layout[StoreBucket::kSecrets].name,
                 std::string("KV_") + layout[StoreBucket::kRuns].name, std::string(JobQueue::kStream)});
  return Status::Ok();
}

// Start, phase 3: the master key proven against the stored data, then the planes' stores and the engine.
Status Server::Impl::BuildPlanes(const ServerConfig& config, std::optional<MasterKey> key,
                                 std::optional<MasterKey> previous) {
  IF_RETURN_IF_ERROR(VerifyOrRecordMasterKey(
      bucket(StoreBucket::kSystem), bucket(StoreBucket::kSecrets),
      KeyCheckOptions{key ? &*key : nullptr, previous ? &*previous : nullptr, config.recreate_key_check}));
  if (previous) {
    spdlog::warn(
        "master-key rotation: values sealed with the previous key id {} stay readable; run "
        "`ironflow secret rekey --all` to re-encrypt them with key id {}",
        previous->key_id(), key->key_id());
  }
  if (key) {
    nonce_budget = std::make_unique<NonceBudget>(bucket(StoreBucket::kSystem), key->key_id());
    IF_ASSIGN_OR_RETURN(auto usage, nonce_budget->Read());
    if (usage.warning) {
      spdlog::warn(
          "master key {} has sealed up to {} values; the limit for random nonces is 2^32: rotate "
          "IRONFLOW_MASTER_KEY soon (see docs/security.md)",
          key->key_id(), usage.reserved);
    }
  }
  sealer = std::make_unique<ValueSealer>(std::move(key), std::move(previous), nonce_budget.get());
  events = std::make_unique<SystemEvents>(*system_stream);
  secrets = std::make_unique<SecretStore>(bucket(StoreBucket::kSecrets), *sealer, *events);
  environments = std::make_unique<EnvironmentStore>(bucket(StoreBucket::kEnvironments), *secrets, *events);
  IF_RETURN_IF_ERROR(environments->EnsureDefault());
  config_store = std::make_unique<ConfigStore>(bucket(StoreBucket::kConfig), *events);
  kv = std::make_unique<UserBuckets>(*nats, *events, config.kv_replicas, replicated_cas_safe);
  kv_keys = std::make_unique<KvKeys>(*kv);
  audit_log = std::make_unique<AuditLog>(*nats);
  AddEnvironmentContents(*environments, *config_store, *kv);

  if (sealer->encrypting()) {
    IF_ASSIGN_OR_RETURN(auto migrated, secrets->EncryptPlaintextEntries());
    if (migrated > 0) {
      spdlog::warn("re-encrypted {} secret(s) that were stored in plaintext (dev mode) under key id {}", migrated,
                   sealer->key_id());
    }
    SecretStore* store = secrets.get();
    auto watch = KvWatch::Start(bucket(StoreBucket::kSecrets),
                                [store](const KvEntry& e, bool deleted) { store->ObserveStored(e, deleted); });
    if (!watch.ok()) return watch.status();
    secrets_watch = std::move(watch).value();
  }
  IF_ASSIGN_OR_RETURN(auto keyring,
                      SigningKeyring::Open(bucket(StoreBucket::kSystem), *sealer, *events, config.signing_key_hex));
  signing = std::move(keyring);
  IF_ASSIGN_OR_RETURN(auto functions_copy, KvMirror::Start(bucket(StoreBucket::kFunctions)));
  functions_mirror = std::move(functions_copy);
  IF_ASSIGN_OR_RETURN(auto unfinished, RunStore::StartUnfinishedMirror(bucket(StoreBucket::kRuns)));
  unfinished_runs = std::move(unfinished);
  functions = std::make_unique<FunctionRegistry>(bucket(StoreBucket::kFunctions), functions_mirror.get());
  runs = std::make_unique<RunStore>(bucket(StoreBucket::kRuns), unfinished_runs.get());
  workers = std::make_unique<WorkerRegistry>(bucket(StoreBucket::kWorkers));
  SigningKeyring* keyring_ptr = signing.get();
  push = std::make_unique<PushDispatcher>(
      [keyring_ptr](int64_t t, std::string_view body) { return keyring_ptr->Sign(t, body); }, config.push_ca_file);
  engine = std::make_unique<Engine>(
      Engine::Deps{*functions, *runs, *workers, *event_log, *secrets, *nats, *signing, *events, *jobs, *push});
  IF_RETURN_IF_ERROR(engine->Start());
  Engine* runtime = engine.get();
  events->SetListener([runtime](const std::string& env, const std::string& subject, const std::string& payload) {
    runtime->OnSystemEvent(env, subject, payload);
  });

  if (config.dev) {
    spdlog::warn("--dev: authentication is disabled; serving on loopback only");
    return Status::Ok();
  }
  api_keys = std::make_unique<ApiKeyStore>(bucket(StoreBucket::kAuth), *events);
  const std::string key_file = config.data_dir + "/bootstrap_key";
  IF_ASSIGN_OR_RETURN(auto created, api_keys->EnsureBootstrapKey(key_file));
  if (created) spdlog::info("created the bootstrap admin API key; it is in {} (mode 0600)", key_file);
  return Status::Ok();
}

// Start, phase 4: the API (context, router with every route, the route table's check) and the HTTP server.
Status Server::Impl::ServeApi(const ServerConfig& config, SecureBytes fingerprint_key,
                              SecureBytes previous_fingerprint_key) {
  live_events = std::make_unique<LiveEvents>(*nats);
  ctx = std::make_unique<ApiContext>(
      ApiContext{*secrets, *environments, api_keys.get(), *live_events, *events, metrics, *sealer});
  ctx->config = config_store.get();
  ctx->kv = kv.get();
  ctx->kv_keys = kv_keys.get();
  ctx->audit = audit_log.get();
  ctx->auth_failures = &auth_failures;
  ctx->server_gauges = [this](Metrics::Gauges* g) { FillGauges(g); };
  ApiContext& api = *ctx;
  router = std::make_unique<Router>([&api](const HttpRequest& r) { return AuthenticateRequest(api, r); }, metrics);
  waiters = std::make_unique<WaiterQuota>(config.max_waiting_per_key);
  router->set_waiter_quota(waiters.get());
  idempotency = std::make_unique<IdempotencyStore>(bucket(StoreBucket::kIdempotency), std::move(fingerprint_key),
                                                   IdempotencyStore::Timing{}, std::move(previous_fingerprint_key));
  router->set_idempotency(idempotency.get());
  SystemInfo info;
  info.version = IRONFLOW_VERSION;
  info.nats_url = nats->redacted_url();
  info.nats_connected = [this] { return nats->connected(); };
  info.nats_link = [this] {
    const auto now = nats->connected_server();
    return NatsLink{nats->connected(), now.url, now.server_id, nats->reconnects(), nats->stream_publish_retries()};
  };
  info.ready = [this] { return ready.load(); };
  info.jetstream_writable = [this] { return jetstream_health->writable(); };
  info.nats_servers = [this] { return Survey(); };
  system_info = info;
  AddSystemRoutes(*router, api, std::move(info));
  AddEnvironmentRoutes(*router, api);
  AddSecretsRoutes(*router, api);
  AddStreamRoute(*router, api);
  AddConfigRoutes(*router, api);
  AddKvRoutes(*router, api);
  AddAuditRoutes(*router, api);
  AddDashboardRoutes(*router);
  AddApiKeyRoutes(*router, api);
  AddRuntimeRoutes(*router, api, *engine, *functions, *runs, *signing);
  IF_RETURN_IF_ERROR(router->Check());

  HttpServer::Options ho;
  ho.host = config.host;
  ho.port = config.port;
  ho.threads = config.http_threads;
  ho.io_threads = config.http_io_threads;
  // Probes, metrics and the dashboard's static files never block: answered on the I/O threads, no hand-off.
  ho.runs_inline = [](const HttpRequest& r) {
    if (r.method != "GET" && r.method != "HEAD") return false;
    return r.path == "/healthz" || r.path == "/readyz" || r.path == "/metrics" || r.path == "/" ||
           r.path.rfind("/ui/", 0) == 0;
  };
  ho.tls_cert_file = config.tls_cert;
  ho.tls_key_file = config.tls_key;
  ho.trusted_proxies = config.trusted_proxies;
  Router* routes = router.get();
  const bool dev = config.dev;
  http = std::make_unique<HttpServer>(ho, [routes, dev](const HttpRequest& r) {
    if (dev) {
      if (Status guard = CheckLoopbackRequest(r); !guard.ok()) return api::ErrorResponse(guard);
    }
    return routes->Dispatch(r);
  });
  return http->Start();
}

Result<std::unique_ptr<Server>> Server::Start(const ServerConfig& config) {
  std::optional<MasterKey> key, previous;
  IF_RETURN_IF_ERROR(ValidateConfig(config, &key, &previous));
  if ((key && !key->LockInMemory()) || (previous && !previous->LockInMemory())) {
    spdlog::warn("hardening: cannot mlock the master key (RLIMIT_MEMLOCK or CAP_IPC_LOCK); it may be swapped out");
  }
  // Keys the fingerprints of Idempotency-Key requests. In dev mode (values stored in the clear anyway) a fixed one.
  SecureBytes fingerprint_key =
      key ? SecureBytes(key->request_fingerprint_key()) : SecureBytes(AsBytes("ironflow dev mode: no master key"));
  SecureBytes previous_fingerprint_key = previous ? SecureBytes(previous->request_fingerprint_key()) : SecureBytes();
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Status::InvalidArgument("cannot create --data-dir " + config.data_dir + ": " + ec.message());
  chmod(config.data_dir.c_str(), 0700);
  AnnounceEncryption(key);

  std::unique_ptr<Server> server(new Server());
  Impl& s = *server->impl_;
  IF_RETURN_IF_ERROR(s.ConnectNats(config));
  IF_RETURN_IF_ERROR(s.OpenStorage(config));
  IF_RETURN_IF_ERROR(s.BuildPlanes(config, std::move(key), std::move(previous)));
  IF_RETURN_IF_ERROR(s.ServeApi(config, std::move(fingerprint_key), std::move(previous_fingerprint_key)));
  s.ready = true;

  const bool tls = !config.tls_cert.empty();
  if (!tls && !IsLoopbackHost(config.host)) {
    spdlog::warn(
        "serving plain HTTP on {}, a non-loopback address: API keys, and the secret values in pull-mode "
        "jobs, cross the network unencrypted; pass --tls-cert/--tls-key (or terminate TLS in front)",
        config.host);
  }
  spdlog::info("ironflow {} listening on {}://{}:{}", IRONFLOW_VERSION, tls ? "https" : "http", config.host,
               s.http->port());
  return server;
}

}  // namespace ironflow::server
