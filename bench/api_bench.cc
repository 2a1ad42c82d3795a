// Secret PUT and metadata GET through the HTTP API (real `ironflow serve`, keep-alive clients) against the raw
// baseline: nats.c kvStore_Put / kvStore_Get on the same nats-server, same payload, same client count.
// BM_Https* run the same API calls against a second server on the same NATS that serves HTTPS (--tls-cert), to
// price TLS on kept-alive connections against plain HTTP.
// Run with: build/bin/bench_api --benchmark_repetitions=5 (see bench/run.sh and docs/benchmarks.md).
#include <benchmark/benchmark.h>

#include <nats/nats.h>
#include <cstdlib>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/kv_bucket.h"
#include "store/nats_connection.h"
#include "support/nats_fixture.h"
#include "support/server_process.h"
#include "support/test_pki.h"

namespace {

using ironflow::HeaderList;
using ironflow::HttpClient;
using ironflow::server::KvBucket;
using ironflow::server::NatsConnection;
namespace t = ironflow::server::testing;

constexpr int kClients = 10;
const std::string kValue(64, 'v');  // a typical API token

// One nats-server, one `ironflow serve` with a master key, and a raw KV bucket configured like ours.
struct World {
  t::NatsFixture nats;
  t::TempDir data;
  std::unique_ptr<t::ServerProcess> server;
  std::unique_ptr<t::ServerProcess> tls_server;  // same NATS and master key, HTTPS
  std::string pki;                               // its certificates
  std::string api_key;
  // One connection and bucket handle per raw client, like one process per client.
  std::vector<std::unique_ptr<NatsConnection>> raw_conns;
  std::vector<std::unique_ptr<KvBucket>> raw_buckets;
};

World* world = nullptr;

void SetUpWorld() {
  world = new World();
  std::atexit([] { delete world; });  // stops the server processes instead of leaving them running
  t::ServerProcess::Options options{world->nats.url(), world->data.path() + "/data", t::NewMasterKey()};
  if (const char* threads = std::getenv("BENCH_HTTP_THREADS")) options.extra_args = {"--http-threads", threads};
  world->server = std::make_unique<t::ServerProcess>(options);
  std::string error;
  if (!world->server->Start(&error)) {
    std::fprintf(stderr, "cannot start ironflow serve: %s\n", error.c_str());
    std::exit(1);
  }
  world->pki = world->data.path() + "/pki";
  if (std::system(("mkdir -p " + world->pki).c_str()) != 0 || !t::MakeTestPki(world->pki)) {
    std::fprintf(stderr, "cannot make TLS certificates (openssl)\n");
    std::exit(1);
  }
  t::ServerProcess::Options tls = options;
  tls.data_dir = world->data.path() + "/data-tls";
  tls.tls_cert = world->pki + "/server.pem";
  tls.tls_key = world->pki + "/server.key";
  tls.ca_file = world->pki + "/ca.pem";
  world->tls_server = std::make_unique<t::ServerProcess>(tls);
  if (!world->tls_server->Start(&error)) {
    std::fprintf(stderr, "cannot start ironflow serve with TLS: %s\n", error.c_str());
    std::exit(1);
  }
  world->api_key = world->server->api_key();
  for (int i = 0; i < kClients; ++i) {
    world->raw_conns.push_back(world->nats.Connect());
    auto b = KvBucket::OpenOrCreate(*world->raw_conns.back(), {"bench-raw", "raw baseline", 10, 1, -1});
    world->raw_buckets.push_back(std::move(b).value());
  }
}

HeaderList Headers() {
  return {{"Authorization", "Bearer " + world->api_key},
          {"X-Ironflow-Environment", "default"},
          {"Content-Type", "application/json"}};
}

void SecretPutLoop(benchmark::State& state, const std::string& url, const std::string& ca_file) {
  auto client = std::move(HttpClient::Create(url, ca_file).value());
  const std::string target = "/api/v1/secrets/BENCH_" + std::to_string(state.thread_index());
  const std::string body = nlohmann::json{{"value", kValue}}.dump();
  const HeaderList headers = Headers();
  for (auto _ : state) {
    auto r = client->Send("PUT", target, headers, body);
    if (!r.ok() || (r->status != 200 && r->status != 201)) {
      state.SkipWithError("PUT failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ApiSecretPut(benchmark::State& state) { SecretPutLoop(state, world->server->url(), ""); }
void BM_HttpsSecretPut(benchmark::State& state) {
  SecretPutLoop(state, world->tls_server->url(), world->pki + "/ca.pem");
}

void BM_RawKvPut(benchmark::State& state) {
  KvBucket& bucket = *world->raw_buckets[state.thread_index()];
  const std::string key = "default.BENCH_" + std::to_string(state.thread_index());
  for (auto _ : state) {
    if (!bucket.Put(key, kValue).ok()) {
      state.SkipWithError("kv put failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void SecretGetLoop(benchmark::State& state, const std::string& url, const std::string& ca_file) {
  auto client = std::move(HttpClient::Create(url, ca_file).value());
  const std::string target = "/api/v1/secrets/BENCH_" + std::to_string(state.thread_index());
  const HeaderList headers = Headers();
  if (auto setup = client->Send("PUT", target, headers, nlohmann::json{{"value", kValue}}.dump()); !setup.ok()) {
    state.SkipWithError(("setup PUT failed: " + setup.status().message()).c_str());
    return;
  }
  for (auto _ : state) {
    auto r = client->Send("GET", target, headers);
    if (!r.ok() || r->status != 200) {
      state.SkipWithError("GET failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ApiSecretGetMetadata(benchmark::State& state) { SecretGetLoop(state, world->server->url(), ""); }
void BM_HttpsSecretGetMetadata(benchmark::State& state) {
  SecretGetLoop(state, world->tls_server->url(), world->pki + "/ca.pem");
}

void BM_RawKvGet(benchmark::State& state) {
  KvBucket& bucket = *world->raw_buckets[state.thread_index()];
  const std::string key = "default.BENCH_" + std::to_string(state.thread_index());
  (void)bucket.Put(key, kValue);
  for (auto _ : state) {
    auto e = bucket.Get(key);
    if (!e.ok() || !e->has_value()) {
      state.SkipWithError("kv get failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_ApiSecretPut)->Threads(kClients)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_RawKvPut)->Threads(kClients)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_ApiSecretGetMetadata)->Threads(kClients)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_RawKvGet)->Threads(kClients)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_HttpsSecretPut)->Threads(kClients)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_HttpsSecretGetMetadata)->Threads(kClients)->UseRealTime()->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  SetUpWorld();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  world->raw_buckets.clear();
  world->raw_conns.clear();
  world->tls_server->Stop();
  world->server->Stop();
  return 0;  // the exit handler SetUpWorld registered frees the world (once)
}
