// ShutdownSignals: stop a Worker or PushServer on SIGINT/SIGTERM. (Their stop() is async-signal-safe, so a
// plain signal handler works too; this helper adds "a second signal exits at once" and needs no globals.)
//
//   ironflow::Worker worker(...);
//   ironflow::ShutdownSignals signals([&] { worker.stop(); });  // before worker.run() starts threads
//   worker.run();
//
// The constructor blocks SIGINT and SIGTERM in the calling thread (threads created afterwards inherit that) and
// starts a thread that waits for them with sigwait() and calls `on_signal` on the first one. A second signal
// ends the process at once (exit status 128 + signal). The destructor ends the waiting thread and restores the
// calling thread's signal mask. Create it in main(), before any thread that should not receive the signals.
#pragma once

#include <functional>
#include <memory>

namespace ironflow {

class ShutdownSignals {
 public:
  explicit ShutdownSignals(std::function<void()> on_signal);
  ~ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ironflow
