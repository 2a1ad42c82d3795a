// Pull mode: a Worker registers its functions and itself with the Ironflow server, long-polls for jobs over
// HTTP (no NATS credentials needed), runs up to `concurrency` of them at once, heartbeats while they run and
// reports each result.
//
//   ironflow::Worker worker({.server_url = "http://127.0.0.1:9123", .api_key = key,
//                            .environment = "production", .concurrency = 8});
//   worker.add(payout);
//   worker.run();  // blocks until stop()
//
// When the server cannot be reached, the worker retries with backoff (250 ms doubling to 5 s) and carries on
// when it is back; a poll answered 404 (registration lost) registers again. A configuration error the server
// rejects (bad API key, unknown environment, invalid function) makes run() throw ironflow::ApiError after
// in-flight jobs finished. Secret values are never logged.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ironflow/function.h"

namespace ironflow {

// Designated initializers must follow declaration order.
struct WorkerOptions {
  std::string server_url = "http://localhost:9123";  // http:// or https://
  std::string api_key;                               // sent as "Authorization: Bearer <api_key>"
  std::string environment = "default";
  int concurrency = 8;            // jobs run at once (1-1000)
  std::string worker_id;          // [A-Za-z0-9_-]{1,128}; empty: "<hostname>-<pid>" (other characters -> '-')
  std::int64_t lease_ms = 30000;  // 500-3600000; heartbeats every lease_ms/3 while jobs run
  int poll_wait_ms = 5000;        // long-poll wait (0-30000); stop() returns within about this long + in-flight work
  std::string ca_file;            // PEM CA trusted for an https:// server_url (empty: the system trust store)
};

class Worker {
 public:
  // Throws std::invalid_argument for invalid options (the message never contains the API key).
  explicit Worker(WorkerOptions options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Adds a function before run(). Throws std::invalid_argument for a duplicate id, ironflow::Error while running.
  void add(const Function& function);

  // Registers the functions (mode "pull") and the worker, then polls and runs jobs until stop(). Returns after
  // the jobs already received have finished and their results were reported (or their leases ran out).
  void run();

  // Asks run() to finish: no new polls; jobs already received run to the end and report. Returns at once.
  // Thread-safe and async-signal-safe (an atomic store and a write(2)), so a signal handler may call it;
  // ironflow::ShutdownSignals (ironflow/signals.h) wires SIGINT/SIGTERM to it. Called before run(), run()
  // returns at once. A long poll in progress is not interrupted: run() returns within about poll_wait_ms plus
  // the time the in-flight jobs need.
  void stop();

  const std::string& id() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ironflow
