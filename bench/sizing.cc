// Sizing on this machine (docs/operations.md, "Sizing"): what 10,000 secrets and 1,000 idle connections cost.
// Starts a nats-server and one `ironflow serve` (default flags, a master key), then measures:
//   - the server's and nats-server's resident memory (VmRSS) and the NATS store's size on disk, before and after
//     writing N secrets (64-byte values, 8 keep-alive clients) and listing them all once;
//   - the server's resident memory before and after opening 1,000 idle keep-alive connections (each sent one
//     /healthz, then left open);
//   - how long `ironflow backup` of that store takes, the file's size, and how long `ironflow restore` of it into
//     an empty nats-server takes.
// The baseline of each reading is the same process just before, in the same run.
// Run: build/bin/bench_sizing [secrets, default 10000]   (docs/benchmarks.md)
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/nats_fixture.h"
#include "support/raw_http.h"
#include "support/server_process.h"

namespace t = ironflow::server::testing;
using nlohmann::json;

namespace {

constexpr int kClients = 8;
constexpr int kIdleConnections = 1000;

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

uint64_t FileBytes(const std::string& file) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(file, ec);
  return ec ? 0 : n;
}

struct Reading {
  long server_kib = 0, nats_kib = 0;
  uint64_t store_bytes = 0;
};

Reading Read(const t::ServerProcess& server, const t::NatsFixture& nats) {
  return Reading{t::ProcStatusField(server.pid(), "VmRSS"), t::ProcStatusField(nats.pid(), "VmRSS"),
                 DirBytes(nats.store_dir())};
}

}  // namespace

int main(int argc, char** argv) {
  const int secrets = argc > 1 ? std::max(100, std::atoi(argv[1])) : 10000;
  t::NatsFixture nats;
  t::TempDir data;
  const std::string key = t::NewMasterKey();
  t::ServerProcess server({nats.url(), data.path() + "/data", key});
  std::string error;
  if (!server.Start(&error)) {
    std::fprintf(stderr, "cannot start ironflow serve: %s\n", error.c_str());
    return 1;
  }
  {  // warm up: every route family the measurement uses, once
    t::ApiClient api(server.url(), server.api_key());
    api.Call("PUT", "/api/v1/secrets/WARMUP", json{{"value", std::string(64, 'w')}});
    api.Call("GET", "/api/v1/secrets");
  }
  const Reading before = Read(server, nats);

  std::atomic<int> next{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      t::ApiClient api(server.url(), server.api_key());
      for (int i = next++; i < secrets; i = next++) {
        const std::string name = "SECRET_" + std::to_string(i);
        std::string value = std::to_string(i);
        value.resize(64, 'x');
        if (api.Call("PUT", "/api/v1/secrets/" + name, json{{"value", value}, {"description", "sizing"}}).status !=
            201) {
          ++failed;
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  {
    t::ApiClient api(server.url(), server.api_key());
    auto list = api.Call("GET", "/api/v1/secrets");
    if (list.status != 200) ++failed;
  }
  const Reading after = Read(server, nats);

  std::vector<int> sockets;
  for (int i = 0; i < kIdleConnections; ++i) {
    int fd = t::OpenLoopback(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    if (fd >= 0) sockets.push_back(fd);
  }
  for (int fd : sockets) (void)t::ReadUntil(fd, "\r\n\r\n");  // each answered, then left open (keep-alive)
  const long idle_after = t::ProcStatusField(server.pid(), "VmRSS");
  for (int fd : sockets) ::close(fd);

  const std::string file = data.path() + "/sizing.backup";
  auto started = std::chrono::steady_clock::now();
  t::ProcessResult backup =
      t::RunIronflow({"backup", "-o", file, "--nats-url", nats.url()}, {{"IRONFLOW_MASTER_KEY", key}});
  const double backup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  t::NatsFixture target;
  started = std::chrono::steady_clock::now();
  t::ProcessResult restore =
      t::RunIronflow({"restore", file, "--nats-url", target.url()}, {{"IRONFLOW_MASTER_KEY", key}});
  const double restore_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (backup.exit_code != 0 || restore.exit_code != 0) {
    std::fprintf(stderr, "backup/restore failed: %s%s\n", backup.err.c_str(), restore.err.c_str());
    ++failed;
  }

  const double per10k = 10000.0 / secrets;
  std::printf("secrets: %d written (%d failed), 64-byte values, %d clients\n", secrets, failed.load(), kClients);
  std::printf("ironflow RSS   %7ld -> %7ld KiB: %6.1f MiB per 10k secrets\n", before.server_kib, after.server_kib,
              (after.server_kib - before.server_kib) * per10k / 1024.0);
  std::printf("nats-server RSS %7ld -> %7ld KiB: %6.1f MiB per 10k secrets\n", before.nats_kib, after.nats_kib,
              (after.nats_kib - before.nats_kib) * per10k / 1024.0);
  std::printf("NATS store     %7.1f -> %7.1f MiB: %6.1f MiB per 10k secrets (%.0f bytes per secret)\n",
              before.store_bytes / 1048576.0, after.store_bytes / 1048576.0,
              (after.store_bytes - before.store_bytes) * per10k / 1048576.0,
              static_cast<double>(after.store_bytes - before.store_bytes) / secrets);
  std::printf("idle connections: %zu open, ironflow RSS %ld -> %ld KiB: %.1f KiB per idle connection\n", sockets.size(),
              after.server_kib, idle_after,
              sockets.empty() ? 0.0 : static_cast<double>(idle_after - after.server_kib) / sockets.size());
  std::printf("backup: %.2f s, %.1f MiB file; restore into an empty nats-server: %.2f s\n", backup_s,
              FileBytes(file) / 1048576.0, restore_s);
  return failed.load() == 0 ? 0 : 1;
}
