// Engine: the runtime plane. Turns events into runs, delivers each attempt to its function (pull workers through
// the API, or push mode through a PushTransport: a signed HTTP call to the app, made outside the runtime) with
// exactly the secrets the function declared, resolved for the run's environment at delivery time, and records
// results with redaction, memoized steps and retries. Result bodies are validated by the API layer
// (api/job_result_body.h); the engine takes them as JobResult.
//
// All state is in NATS: functions, workers, run records (status, attempt, steps, the current lease), and one
// message per unfinished run in the JetStream work queue (JobQueue). JetStream decides who takes a job: a fetched
// message goes to one server until it is settled, so each attempt is delivered once however many servers and
// workers poll. The run record says which attempt is current; a compare-and-set on it records each lease and
// each outcome, so a result for an attempt that is no longer current is refused. The leasing server keeps the
// lease alive (in-progress acks) while the worker heartbeats, and records a lost lease when it stops; if that
// server dies, AckWait brings the message back and the next taker records the lost lease. Secret values exist
// only in the delivery payload being sent (wiped after sending) and in memory while a push call or a redaction
// runs. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/request_tag.h"
#include "common/status.h"
#include "crypto/secure_bytes.h"
#include "events/system_events.h"
#include "runtime/event_log.h"
#include "runtime/function_registry.h"
#include "runtime/job_result.h"
#include "runtime/push_transport.h"
#include "runtime/run_lifecycle.h"
#include "runtime/run_store.h"
#include "runtime/runtime_stats.h"
#include "runtime/signing_keyring.h"
#include "runtime/worker_registry.h"
#include "secrets/secret_store.h"
#include "store/job_queue.h"
#include "store/nats_connection.h"
#include "store/system_stream.h"

namespace ironflow::server {

class Engine {
 public:
  struct Deps {
    FunctionRegistry& functions;
    RunStore& runs;
    WorkerRegistry& workers;
    EventLog& events;
    SecretStore& secrets;
    NatsConnection& nats;
    SigningKeyring& signing;  // signs push-mode requests
    SystemEvents& audit;      // who received which secret (system.access.*)
    JobQueue& jobs;           // one message per unfinished run
    PushTransport& push;      // calls push-mode apps; stopped by Stop()
  };
  explicit Engine(Deps deps);
  ~Engine();

  // Subscribes to job notifications and worker heartbeats, queues runs recorded before the job stream existed
  // (an upgrade), and starts the scheduler thread.
  Status Start();
  // Stops the scheduler, then the push transport (push calls in flight end and are recorded first).
  void Stop();

  struct Emitted {
    StoredEvent event;
    std::vector<std::string> run_ids;
  };
  // Stores the event and creates one run (and its first job) per function of `env` whose trigger matches.
  // With a `tag` (a request sent with an Idempotency-Key) the event and run ids, and every message's
  // de-duplication id, derive from the tag: a retry stores nothing twice (JetStream's 2-minute duplicate window;
  // after it, the runs' create-only records) and answers the same ids.
  Result<Emitted> Emit(const std::string& env, const std::string& name, const std::string& data_json,
                       const std::string& metadata_json, const RequestTag& tag = {});
  // A system event published by this process (e.g. system.secret.X.updated): triggers matching functions of
  // `env` asynchronously. system.run.* events never trigger functions (no feedback loops).
  void OnSystemEvent(const std::string& env, const std::string& subject, const std::string& payload_json);

  Status RegisterWorker(const std::string& env, WorkerInfo info);
  Status Heartbeat(const std::string& env, const std::string& worker_id);
  // Leases up to `available` pending attempts to the worker, without waiting (an empty list: none now). Each
  // returned string is a job JSON object including `context.secrets` values: the caller sends it and wipes it.
  // `requester` is the worker's API key: only attempts of functions its allow-lists cover (the function id, and
  // every secret the function declares) are leased to it, and each delivered secret is audited under its key id.
  Result<std::vector<std::string>> PollJobs(const std::string& env, const std::string& worker_id, int available,
                                            const Actor& requester);
  // Calls `wake` when an attempt of one of worker `worker_id`'s functions may have become available in `env` (a
  // job notification from any server, or the scheduler seeing a pending attempt), until the returned handle is
  // released. Only as many waiters are woken per function as it has pending attempts. `wake` runs on a NATS or
  // scheduler thread and must not block. This is how long polls wait without holding a thread.
  std::shared_ptr<void> WatchReady(const std::string& env, const std::string& worker_id, std::function<void()> wake);
  // The worker's result for a leased job, validated by the caller; `body` is the request body it came in (the same
  // body sent again is recognised as a repeat). kConflict when the lease token is wrong or the lease expired.
  Status CompleteJob(const std::string& env, const std::string& worker_id, const std::string& job_id,
                     const JobResult& result, std::string_view body);

  // Everything the runtime counts for /metrics (a consistent copy). Its job_redeliveries: jobs that came back to
  // a taker while the run record still showed them leased, i.e. the lease was lost (its server died or stalled, or
  // a NATS leader change lost the in-progress acks); each is logged, and the attempt is recorded as failed with a
  // lost lease and retried under the function's policy.
  RuntimeStats stats() const;

 private:
  // What the engine records for an attempt: the function's answer (or the engine's own verdict) and where it
  // came from.
  struct Outcome : JobResult {
    Outcome() = default;
    explicit Outcome(JobResult result) : JobResult(std::move(result)) {}
    // A pull worker's result: "<lease id>:<digest of the result body>", kept in the record so that the same result
    // sent again (its answer was lost) is answered OK. Empty for lost leases and push results.
    std::string reported_as;
    bool lease_lost = false;  // recorded by the engine: the lease ran out (not the function's own failure)
  };
  using Values = SecretValues;  // secret name -> value, wiped when dropped

  // Creates one run (record, job message, audit event) per function of `env` triggered by `event`, stored in one
  // round trip together with `batch` (e.g. the event itself).
  Result<std::vector<std::string>> StartRuns(const std::string& env, const StoredEvent& event,
                                             std::vector<StreamPublish> batch = {}, const RequestTag& tag = {});
  // A lease decided on but not yet written: the run's record as the mirror showed it (`base`; revision 0 if it
  // was read from the bucket) and what the lease puts in it.
  struct LeasePlan : LeaseGrant {
    RunStore::Queued base;  // the record the plan was made from
    std::string ack_subject;
    int64_t hard_deadline_ms = 0;
  };
  // Decides on one job fetched from `fn`'s queue. If the run's record shows its attempt due, resolves the
  // declared secrets into `values` and returns the lease to write. Otherwise settles the message as the record
  // says (finished: ack; not due: NAK until due; leased: the lease was lost, recorded as a failed attempt) and
  // returns kConflict; a declared secret that is not set fails the attempt and returns kNotFound.
  Result<LeasePlan> PlanLease(const FunctionDef& fn, const FetchedJob& job, const std::string& worker_id,
                              int64_t lease_ms, Values* values, const std::string& push_url = "");
  // Writes the lease (one CAS: the run becomes "running", attempt n, leased to the worker), reading the record
  // again if the planned revision is stale.
  Result<StoredRun> WriteLease(const LeasePlan& plan);
  // After the lease's write (`written`): keeps the lease alive from now on and appends its `running` and access
  // events to `events`, which the caller must store before delivering (on failure: Unaudited). If the write
  // failed, wipes `values`, hands the job back and returns the failure. `requester` (the pull worker's key, or
  // the server for push) and `push_url` are recorded in the access audit.
  Result<StoredRun> HoldLease(const FunctionDef& fn, const LeasePlan& plan, Result<StoredRun> written, Values* values,
                              const Actor& requester, const std::string& push_url, std::vector<StreamPublish>* events);
  // PlanLease, WriteLease and HoldLease for one job, storing its events: nothing is delivered unaudited.
  Result<StoredRun> Take(const FunctionDef& fn, const FetchedJob& job, const std::string& worker_id, int64_t lease_ms,
                         Values* values, const Actor& requester, const std::string& push_url = "");
  // Fails a leased attempt whose delivery events could not be stored (it was not delivered).
  void Unaudited(const std::string& env, const std::string& run_id, const std::string& lease_id,
                 const std::string& ack_subject);
  std::string DeliveryJson(const RunRecord& leased, const Values& values, const std::string& lease_token);
  // Records the outcome of the run's current attempt (redacted with `values`) in one CAS: completed, failed,
  // or queued again with the next attempt pending after its backoff; then settles the job's message at
  // `ack_subject` to match (ack, NAK with the backoff, or TERM). `check` runs on the current record first and may
  // refuse (e.g. the lease is not the caller's any more): its status is returned and nothing is settled. The run's
  // status event is stored before returning; if that fails, `audited` (when given) says so (the outcome stands).
  Status FinishAttempt(const std::string& env, const std::string& run_id, const Outcome& outcome, const Values& values,
                       const std::function<Status(const RunRecord&)>& check, const std::string& ack_subject,
                       const RunStore::Queued* hint = nullptr, Status* audited = nullptr);
  // The `system.run.<id>.<status>` event of the run's current status (stored by the caller, with SystemEvents).
  StreamPublish RunStatusEvent(const RunRecord& run);
  // RunStatusEvent of a run an outcome just moved; for a worker's result, with a de-duplication id of its own.
  StreamPublish FinishEvent(const RunRecord& run);
  // The outcome the engine records for an attempt whose lease ran out (a pull worker's, or a push call's).
  static Outcome LostLeaseOutcome(bool push, const std::string& worker_id);
  void SchedulerLoop();
  void ScanOnce();
  // Keeps this process's live leases alive (in-progress acks) and records the ones whose worker stopped
  // heartbeating, or whose push call overran, as lost.
  void ReapLeases();
  // Whether the job of a run recorded as leased may be back in its queue: the lease is older than AckWait and
  // not held by this process (whose holder may have died). A hint for waking and fetching, never a decision.
  bool MayComeBack(const Delivery& dl, int64_t now);
  // Runs recorded before the job stream (no message of their own) are queued once, at start.
  void QueueUnqueuedRuns();
  // Hands a leased push attempt to the transport; its answer is recorded by FinishPush.
  void DispatchPush(RunRecord leased, const FunctionDef& fn, Values values, std::string ack_subject);
  void FinishPush(const RunRecord& leased, PushAnswer answer, Values& values, const std::string& ack_subject);
  // Wakes long polls (this and every other server) after an attempt of `function_id` became available.
  void NotifyReady(const std::string& env, const std::string& function_id);
  // Stores the job message of run `run_id` (de-duplicated by the run id).
  Status Enqueue(const std::string& env, const std::string& function_id, const std::string& run_id);
  // Wakes this process's WatchReady waiters of `env` whose functions have attempts available: as many per
  // function as `pending` (function id -> attempts) names.
  void WakeWaiters(const std::string& env, std::map<std::string, int> pending);
  // A heartbeat of `worker_id` (from any server): its leases held here are extended.
  void OnWorkerHeartbeat(const std::string& env, const std::string& worker_id);

  Deps d_;
  std::unique_ptr<NatsConnection::Subscription> ready_sub_;
  std::unique_ptr<NatsConnection::Subscription> heartbeat_sub_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::tuple<std::string, std::string, std::string>> system_events_;  // env, subject, payload
  bool stopping_ = false;
  std::vector<std::array<std::string, 3>> unqueued_;  // runs recorded whose job message could not be stored yet
  std::thread scheduler_;
  std::atomic<uint64_t> runs_finished_{0};
  std::atomic<uint64_t> redeliveries_{0};
  std::atomic<uint64_t> lease_expiries_{0};
  std::atomic<uint64_t> attempt_failures_{0};
  mutable std::mutex latency_mu_;
  HistogramCounts delivery_latency_;  // guarded by latency_mu_
  // The leases this process granted and keeps alive, by lease id.
  struct HeldLease {
    std::string env, run_id, worker_id, ack_subject;
    int attempt = 0;
    bool push = false;
    int64_t lease_ms = 0;          // a heartbeat extends the lease to now + lease_ms ...
    int64_t hard_deadline_ms = 0;  // ... but never past the function's timeout
    int64_t deadline_ms = 0;
    int64_t last_progress_ms = 0;  // the last in-progress ack sent
  };
  std::mutex leases_mu_;
  std::map<std::string, HeldLease> leases_;
  int64_t last_redelivery_wake_ms_ = 0;
  static constexpr int64_t kScanShare = 20;
  // ScanOnce's walk over every unfinished run waits until then (scheduler thread only).
  std::chrono::steady_clock::time_point next_walk_;
  std::string server_id_;
  Actor server_actor_;  // the requester of push deliveries
  std::mutex waiters_mu_;
  struct Waiter {
    std::string env;
    std::set<std::string> function_ids;
    std::function<void()> wake;
  };
  std::map<uint64_t, Waiter> waiters_;  // by registration id, oldest first
  uint64_t next_waiter_ = 0;
};

}  // namespace ironflow::server
