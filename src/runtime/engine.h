// Engine: the runtime plane. Turns events into runs, delivers each attempt to its function (pull workers over
// HTTP, or a signed HTTP call to the app in push mode) with exactly the secrets the function declared, resolved
// for the run's environment at delivery time, and records results with redaction, memoized steps and retries.
//
// All state is in NATS (functions, runs, jobs, workers); every server process runs the same scheduler loop, and
// compare-and-set on job records decides which process acts. Secret values exist only in the delivery payload
// being sent (wiped after sending) and in memory while a push call or a redaction runs. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "crypto/secure_bytes.h"
#include "events/system_events.h"
#include "runtime/event_log.h"
#include "runtime/function_registry.h"
#include "runtime/job_queue.h"
#include "runtime/run_store.h"
#include "runtime/signing_keyring.h"
#include "runtime/worker_registry.h"
#include "secrets/secret_store.h"
#include "store/nats_connection.h"
#include "store/system_stream.h"

namespace ironflow {

class Engine {
 public:
  struct Deps {
    FunctionRegistry& functions;
    RunStore& runs;
    JobQueue& jobs;
    WorkerRegistry& workers;
    EventLog& events;
    SecretStore& secrets;
    SystemStream& system_stream;
    NatsConnection& nats;
    SigningKeyring& signing;  // signs push-mode requests
  };
  // `push_ca_file`: CA trusted for https:// push URLs (empty: the system trust store).
  explicit Engine(Deps deps, std::string push_ca_file = "");
  ~Engine();

  Status Start();  // subscribes to job notifications and starts the scheduler thread
  void Stop();

  struct Emitted {
    StoredEvent event;
    std::vector<std::string> run_ids;
  };
  // Stores the event and creates one run (and its first job) per function of `env` whose trigger matches.
  Result<Emitted> Emit(const std::string& env, const std::string& name, const std::string& data_json,
                       const std::string& metadata_json);
  // A system event published by this process (e.g. system.secret.X.updated): triggers matching functions of
  // `env` asynchronously. system.run.* events never trigger functions (no feedback loops).
  void OnSystemEvent(const std::string& env, const std::string& subject, const std::string& payload_json);

  Status RegisterWorker(const std::string& env, WorkerInfo info);
  Status Heartbeat(const std::string& env, const std::string& worker_id);
  // Leases up to `available` jobs to the worker, waiting up to `wait_ms` for one. Each returned string is a job
  // JSON object including `context.secrets` values: the caller sends it and wipes it.
  Result<std::vector<std::string>> PollJobs(const std::string& env, const std::string& worker_id, int available,
                                            int64_t wait_ms);
  // The worker's result for a leased job. kConflict when the lease token is wrong or the lease expired.
  Status CompleteJob(const std::string& env, const std::string& worker_id, const std::string& job_id,
                     const std::string& body);

  // Run-status events published (for tests and metrics).
  uint64_t runs_finished() const { return runs_finished_.load(); }

 private:
  struct Outcome {
    bool completed = false;
    std::string output_json = "null";
    std::string error;
    bool retryable = true;
    std::vector<RunStep> steps;
  };
  using Values = std::map<std::string, std::string>;  // secret name -> value (wiped by WipeValues)

  Result<std::vector<std::string>> StartRuns(const std::string& env, const StoredEvent& event);
  // Resolves the declared secrets and leases `stored` to `worker_id`. On success fills `values` and the leased
  // record; a declared secret that is not set fails the attempt (and returns kNotFound).
  Status Lease(StoredJob& stored, const FunctionDef& fn, const std::string& worker_id, int64_t lease_ms, Values* values);
  std::string DeliveryJson(const StoredJob& leased, const RunRecord& run, const Values& values, bool pull);
  // Claims the job (CAS), records the outcome on the run (redacted with `values`), schedules a retry if the
  // policy allows, and removes the job. kConflict when the job was no longer at `stored.revision`.
  Status FinishAttempt(StoredJob stored, const Outcome& outcome, const Values& values);
  void PublishRunStatus(const RunRecord& run);
  // The attempt is now with its function: run status "running" (unless the run already ended), and its event.
  Result<RunRecord> MarkRunning(const JobRecord& job);
  // Reads a validated result body ({status, output?, error?, steps?}) from either delivery mode.
  static Outcome OutcomeFromResult(const nlohmann::json& doc);
  void SchedulerLoop();
  void ScanOnce();
  void DispatchPush(StoredJob leased, FunctionDef fn, Values values);
  static void WipeValues(Values& values);

  Deps d_;
  std::string push_ca_file_;
  std::unique_ptr<NatsConnection::Subscription> ready_sub_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t ready_generation_ = 0;  // bumped on every job notification
  std::deque<std::tuple<std::string, std::string, std::string>> system_events_;  // env, subject, payload
  bool stopping_ = false;
  std::thread scheduler_;
  std::atomic<int> push_in_flight_{0};
  std::atomic<uint64_t> runs_finished_{0};
  std::string server_id_;
};

}  // namespace ironflow
