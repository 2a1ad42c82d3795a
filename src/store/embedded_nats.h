// EmbeddedNats: a supervised `nats-server -js` child process on a loopback port.
//
// Start() returns once the child answers on its port with its own INFO line (a port another process's nats-server
// grabbed between picking and binding is detected, and a new port tried). A supervisor thread restarts the child (same
// port and store dir) if it exits while not being stopped. The child runs in its own process group (so a terminal's
// Ctrl-C reaches only us, and we stop it in order) and dies with us (PR_SET_PDEATHSIG). The destructor stops
// it: SIGTERM, then SIGKILL after 5 s. Used by `ironflow serve` and by the test fixtures alike.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace ironflow::server {

// Locates `nats-server` on PATH, /usr/sbin or /usr/local/sbin. Empty when absent.
std::string FindNatsServerBinary();
// A loopback TCP port that was free a moment ago, picked below the kernel's ephemeral range.
int PickFreeLoopbackPort();
// Waits until something accepts TCP connections on 127.0.0.1:port, up to timeout_ms.
bool WaitForTcpPort(int port, int timeout_ms);

class EmbeddedNats {
 public:
  struct Options {
    std::string binary;                   // path to nats-server; empty: FindNatsServerBinary()
    std::string store_dir;                // JetStream store directory (created if missing)
    std::string log_file;                 // child's stdout/stderr go here
    int port = 0;                         // 0: pick a free loopback port
    bool supervise = true;                // restart the child if it dies
    std::vector<std::string> extra_args;  // more nats-server flags (tests: --tls ...)
  };

  static Result<std::unique_ptr<EmbeddedNats>> Start(Options options);
  ~EmbeddedNats();
  EmbeddedNats(const EmbeddedNats&) = delete;
  EmbeddedNats& operator=(const EmbeddedNats&) = delete;

  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  pid_t pid() const;
  uint64_t restarts() const { return restarts_.load(); }
  // Sends `sig` to the current child (tests use it to simulate a crash).
  void Signal(int sig);
  // Stops the child (and supervision). Idempotent.
  void Stop();

 private:
  explicit EmbeddedNats(Options o) : options_(std::move(o)) {}
  // One start on a picked port; a port another NATS server took meanwhile is retried on a new one (3 attempts).
  static Result<std::unique_ptr<EmbeddedNats>> StartAttempt(Options options, int attempt);
  Status SpawnChild();
  // Before supervision starts: true (and the child reaped) if it has exited.
  bool ExitedDuringStart();
  void SuperviseLoop();

  Options options_;
  std::string binary_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::condition_variable exited_cv_;
  pid_t pid_ = -1;
  bool child_running_ = false;
  bool stopping_ = false;
  std::atomic<uint64_t> restarts_{0};
  std::thread supervisor_;
};

}  // namespace ironflow::server
