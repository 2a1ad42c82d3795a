// Config store and KV counters through the HTTP API (real `ironflow serve`, keep-alive clients) against the raw
// baseline on the same nats-server in the same run:
//   BM_ApiConfigPut / BM_ApiConfigGet   vs  BM_RawConfigPut / BM_RawConfigGet   (kvStore_Put / kvStore_Get)
//   BM_ApiCounterIncrement              vs  BM_RawCounterIncrement  (a kvStore_Get + kvStore_Update CAS loop)
// 8 concurrent clients each; the counter benchmarks all hit ONE key (the contended case counters exist for).
// Run with: build/bin/bench_stores --benchmark_repetitions=5 (see bench/run.sh and docs/benchmarks.md).
#include <benchmark/benchmark.h>

#include <nats/nats.h>
#include <cstdlib>

#include <charconv>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/kv_bucket.h"
#include "store/nats_connection.h"
#include "support/nats_fixture.h"
#include "support/server_process.h"

namespace {

using ironflow::HeaderList;
using ironflow::HttpClient;
using ironflow::server::KvBucket;
using ironflow::server::NatsConnection;
namespace t = ironflow::server::testing;

constexpr int kClients = 8;
const nlohmann::json kDocument = {{"checkout_v2", true}, {"max_items", 25}, {"regions", {"eu", "us"}}};

struct World {
  t::NatsFixture nats;
  t::TempDir data;
  std::unique_ptr<t::ServerProcess> server;
  std::string api_key;
  std::vector<std::unique_ptr<NatsConnection>> raw_conns;  // one per raw client, like one process per client
  std::vector<std::unique_ptr<KvBucket>> raw_buckets;
};

World* world = nullptr;

HeaderList Headers() {
  return {{"Authorization", "Bearer " + world->api_key},
          {"X-Ironflow-Environment", "default"},
          {"Content-Type", "application/json"}};
}

void SetUpWorld() {
  world = new World();
  std::atexit([] { delete world; });  // stops the server processes instead of leaving them running
  t::ServerProcess::Options options{world->nats.url(), world->data.path() + "/data", t::NewMasterKey()};
  world->server = std::make_unique<t::ServerProcess>(options);
  std::string error;
  if (!world->server->Start(&error)) {
    std::fprintf(stderr, "cannot start ironflow serve: %s\n", error.c_str());
    std::exit(1);
  }
  world->api_key = world->server->api_key();
  auto c = std::move(HttpClient::Create(world->server->url()).value());
  auto r = c->Send("POST", "/api/v1/kv/buckets", Headers(), R"({"name":"bench"})");
  if (!r.ok() || r->status != 201) {
    std::fprintf(stderr, "cannot create the bench bucket\n");
    std::exit(1);
  }
  for (int i = 0; i < kClients; ++i) {
    world->raw_conns.push_back(world->nats.Connect());
    auto b = KvBucket::OpenOrCreate(*world->raw_conns.back(), {"bench-raw-stores", "raw baseline", 10, 1, -1});
    world->raw_buckets.push_back(std::move(b).value());
  }
}

void BM_ApiConfigPut(benchmark::State& state) {
  auto client = std::move(HttpClient::Create(world->server->url()).value());
  const std::string target = "/api/v1/config/bench_" + std::to_string(state.thread_index());
  const std::string body = nlohmann::json{{"data", kDocument}}.dump();
  const HeaderList headers = Headers();
  for (auto _ : state) {
    auto r = client->Send("PUT", target, headers, body);
    if (!r.ok() || r->status != 200) {
      state.SkipWithError("PUT failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RawConfigPut(benchmark::State& state) {
  KvBucket& bucket = *world->raw_buckets[state.thread_index()];
  const std::string key = "default.bench_" + std::to_string(state.thread_index());
  const std::string value = kDocument.dump();
  for (auto _ : state) {
    if (!bucket.Put(key, value).ok()) {
      state.SkipWithError("kv put failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ApiConfigGet(benchmark::State& state) {
  auto client = std::move(HttpClient::Create(world->server->url()).value());
  const std::string target = "/api/v1/config/bench_" + std::to_string(state.thread_index());
  const HeaderList headers = Headers();
  if (auto setup = client->Send("PUT", target, headers, nlohmann::json{{"data", kDocument}}.dump()); !setup.ok()) {
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

void BM_RawConfigGet(benchmark::State& state) {
  KvBucket& bucket = *world->raw_buckets[state.thread_index()];
  const std::string key = "default.bench_" + std::to_string(state.thread_index());
  (void)bucket.Put(key, kDocument.dump());
  for (auto _ : state) {
    auto e = bucket.Get(key);
    if (!e.ok() || !e->has_value()) {
      state.SkipWithError("kv get failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ApiCounterIncrement(benchmark::State& state) {
  auto client = std::move(HttpClient::Create(world->server->url()).value());
  const HeaderList headers = Headers();
  for (auto _ : state) {
    auto r = client->Send("POST", "/api/v1/kv/buckets/bench/keys/hits/increment", headers, "");
    if (!r.ok() || r->status != 200) {
      state.SkipWithError("increment failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// The baseline a user would write with nats.c alone: read, add, write conditionally, retry on a conflict.
void BM_RawCounterIncrement(benchmark::State& state) {
  kvStore* kv = world->raw_buckets[state.thread_index()]->raw();
  const char* key = "counter";
  int64_t conflicts = 0;
  for (auto _ : state) {
    for (;;) {
      kvEntry* e = nullptr;
      natsStatus s = kvStore_Get(&e, kv, key);
      int64_t value = 0;
      uint64_t rev = 0;
      if (s == NATS_OK) {
        const char* data = static_cast<const char*>(kvEntry_Value(e));
        std::from_chars(data, data + kvEntry_ValueLen(e), value);
        rev = kvEntry_Revision(e);
        kvEntry_Destroy(e);
      } else if (s != NATS_NOT_FOUND) {
        state.SkipWithError("kv get failed");
        return;
      }
      std::string next = std::to_string(value + 1);
      uint64_t new_rev = 0;
      s = rev == 0 ? kvStore_Create(&new_rev, kv, key, next.data(), static_cast<int>(next.size()))
                   : kvStore_Update(&new_rev, kv, key, next.data(), static_cast<int>(next.size()), rev);
      if (s == NATS_OK) break;
      ++conflicts;  // someone else won this revision: read again
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["conflicts_per_op"] = benchmark::Counter(static_cast<double>(conflicts) / state.iterations());
}

BENCHMARK(BM_ApiConfigPut)->Threads(kClients)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_RawConfigPut)->Threads(kClients)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_ApiConfigGet)->Threads(kClients)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_RawConfigGet)->Threads(kClients)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_ApiCounterIncrement)->Threads(kClients)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_RawCounterIncrement)->Threads(kClients)->UseRealTime()->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  SetUpWorld();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  world->raw_buckets.clear();
  world->raw_conns.clear();
  world->server->Stop();
  delete world;
  return 0;
}
