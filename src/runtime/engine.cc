#include "runtime/engine.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "auth/allow_list.h"
#include "common/bounded_json.h"
#include "common/hex.h"
#include "common/json_nesting.h"
#include "common/names.h"
#include "common/time_util.h"
#include "crypto/digest.h"
#include "runtime/ids.h"
#include "runtime/lease_token.h"
#include "runtime/redactor.h"
#include "runtime/signing.h"

namespace ironflow::server {

using nlohmann::json;

namespace {

constexpr const char* kReadySubject = "ironflow.jobs.ready.";  // + environment: an attempt became pending
// + environment, payload the worker id: a pull worker's heartbeat, for whichever server holds its leases.
constexpr const char* kHeartbeatSubject = "ironflow.workers.heartbeat.";
constexpr size_t kDirectFetchFunctions = 4;  // PollJobs fetches from up to this many queues without a mirror scan

// A run's job message: a reference, never a value.
std::string JobPayload(const std::string& run_id) { return json{{"run_id", run_id}}.dump(); }

json ParseOr(const std::string& text, json fallback) {
  json j = ParseBoundedJson(text);
  return j.is_discarded() ? fallback : j;
}

}  // namespace

Engine::Engine(Deps deps) : d_(deps) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  server_id_ = "server-" + std::string(host) + "-" + std::to_string(getpid());
  server_actor_ = Actor{"server", server_id_, "push dispatcher", Role::kNone, ""};
}

Engine::~Engine() { Stop(); }

Status Engine::Start() {
  auto sub = d_.nats.Subscribe("ironflow.jobs.ready.>", [this](std::string_view subject, std::string_view) {
    // <environment>.<function id>: one attempt of that function became available.
    std::string_view rest = subject.substr(std::string_view(kReadySubject).size());
    const size_t dot = rest.find('.');
    if (dot == std::string_view::npos) return;
    WakeWaiters(std::string(rest.substr(0, dot)), {{std::string(rest.substr(dot + 1)), 1}});
  });
  if (!sub.ok()) return sub.status();
  ready_sub_ = std::move(sub).value();
  auto hb = d_.nats.Subscribe(
      std::string(kHeartbeatSubject) + ">", [this](std::string_view subject, std::string_view worker) {
        OnWorkerHeartbeat(std::string(subject.substr(std::string_view(kHeartbeatSubject).size())), std::string(worker));
      });
  if (!hb.ok()) return hb.status();
  heartbeat_sub_ = std::move(hb).value();
  QueueUnqueuedRuns();
  scheduler_ = std::thread([this] { SchedulerLoop(); });
  return Status::Ok();
}

void Engine::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !scheduler_.joinable()) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (scheduler_.joinable()) scheduler_.join();
  // Push calls in flight end (each is bounded by its function's timeout) and are recorded; no new ones start.
  d_.push.Stop();
  ready_sub_.reset();
  heartbeat_sub_.reset();
}

// ---- events and runs --------------------------------------------------------------------------------------

Result<Engine::Emitted> Engine::Emit(const std::string& env, const std::string& name, const std::string& data_json,
                                     const std::string& metadata_json, const RequestTag& tag) {
  const std::string event_id = tag.empty() ? std::string() : "evt_" + Sha256Hex(tag.id + "/event").substr(0, 24);
  auto [event, message] = EventLog::Prepare(env, name, data_json, metadata_json, event_id);
  IF_ASSIGN_OR_RETURN(auto runs, StartRuns(env, event, {std::move(message)}, tag));
  return Emitted{std::move(event), std::move(runs)};
}

void Engine::OnSystemEvent(const std::string& env, const std::string& subject, const std::string& payload_json) {
  if (subject.rfind("system.run.", 0) == 0) return;
  // Most writes trigger nothing: then do not wake the scheduler at all (a thread wake-up per secret write is a
  // measurable share of a PUT on a small machine). The functions mirror answers from memory.
  if (auto fns = d_.functions.TriggeredBy(env, subject); fns.ok() && fns->empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (system_events_.size() >= 10000) return;  // the scheduler is far behind; the audit stream still has it
  system_events_.emplace_back(env, subject, payload_json);
  cv_.notify_all();
}

Result<std::vector<std::string>> Engine::StartRuns(const std::string& env, const StoredEvent& event,
                                                   std::vector<StreamPublish> batch, const RequestTag& tag) {
  IF_ASSIGN_OR_RETURN(auto fns, d_.functions.TriggeredBy(env, event.name));
  // Everything an event starts is stored in one round trip: the event itself (if the caller passed it), and for
  // each run its record, its job message and its `queued` audit event. A taker that fetches the job before the
  // record is visible tries again a moment later (Take).
  std::vector<RunRecord> runs;
  std::vector<size_t> record_at;  // index in `batch` of each run's record
  for (const auto& fn : fns) {
    RunRecord run;
    run.id = tag.empty() ? NewId("run_") : "run_" + Sha256Hex(tag.id + "/" + fn.id).substr(0, 24);
    run.function_id = fn.id;
    run.environment = env;
    run.event_id = event.id;
    run.event_name = event.name;
    run.event_data_json = event.data_json;
    run.event_timestamp = event.timestamp;
    run.status = RunStatus::kQueued;
    run.attempt = 0;
    const int64_t now = NowUnixMillis();
    run.created_at = run.updated_at = FormatRfc3339(now);
    run.delivery = PendingDelivery(run.id, 1, fn.mode, now);
    record_at.push_back(batch.size());
    batch.push_back(d_.runs.CreateMessage(run));
    batch.push_back(JobQueue::JobMessage(JobQueue::QueueName(env, fn.id), run.id, JobPayload(run.id)));
    batch.push_back(RunStatusEvent(run));
    if (!tag.empty()) {  // a retry of this request sends the same messages: JetStream keeps each once
      batch[batch.size() - 3].msg_id = run.id + ".record";
      batch.back().msg_id = run.id + ".queued";
    }
    runs.push_back(std::move(run));
  }
  std::vector<uint64_t> sequences;
  Status stored = d_.nats.PublishToStreamDurably(batch, 10000, &sequences);
  if (stored.is(Code::kConflict) && tag.retry) {
    // A run record exists already: an earlier attempt of this request stored it (past the duplicate window). Its
    // job messages may not have been stored: the scheduler queues each run whose record exists (de-duplicated by
    // run id; a finished or absent run is skipped).
    std::vector<std::string> run_ids;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& run : runs) {
      unqueued_.push_back({env, run.function_id, run.id});
      run_ids.push_back(run.id);
    }
    cv_.notify_all();
    return run_ids;
  }
  if (!stored.ok()) {
    // Unknown which were stored. A run whose record was stored must not wait for a job message that was not:
    // the scheduler keeps queuing them (de-duplicated by run id; a run whose record is absent is skipped).
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& run : runs) unqueued_.push_back({env, run.function_id, run.id});
    spdlog::warn("event {} in {}: its runs could not be stored ({})", event.id, env, stored.message());
    return Status::Unavailable("the event and its runs could not be stored (" + stored.message() + ")");
  }
  std::vector<std::string> run_ids;
  for (size_t i = 0; i < runs.size(); ++i) {
    d_.runs.Created(runs[i], batch[record_at[i]], sequences[record_at[i]]);
    NotifyReady(env, runs[i].function_id);
    run_ids.push_back(runs[i].id);
  }
  return run_ids;
}

Status Engine::Enqueue(const std::string& env, const std::string& function_id, const std::string& run_id) {
  return d_.jobs.Enqueue(JobQueue::QueueName(env, function_id), run_id, JobPayload(run_id));
}

void Engine::NotifyReady(const std::string& env, const std::string& function_id) {
  (void)d_.nats.Publish(std::string(kReadySubject) + env + "." + function_id, "");
}

namespace {
// Unregisters a WatchReady callback when the last holder lets go.
class WaiterHandle {
 public:
  WaiterHandle(std::function<void()> release) : release_(std::move(release)) {}
  ~WaiterHandle() { release_(); }

 private:
  std::function<void()> release_;
};

// scheme://host[:port]/path of a push URL, without credentials or query (for the audit trail).
std::string AuditUrl(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  const size_t host_start = scheme + 3;
  // The authority ends at the first '/', '?' or '#' after the last '@' (a password may hold '/' but not '@').
  size_t at = url.rfind('@', url.find_first_of("?#", host_start));
  const size_t host = at != std::string::npos && at >= host_start ? at + 1 : host_start;
  const size_t end = url.find_first_of("/?#", host);
  std::string out =
      url.substr(0, host_start) + url.substr(host, end == std::string::npos ? std::string::npos : end - host);
  if (end != std::string::npos && url[end] == '/') out += url.substr(end, url.find_first_of("?#", end) - end);
  return out;
}

// For FinishAttempt: the run is still under lease `lease_id` (no result, lost-lease record or new attempt since).
std::function<Status(const RunRecord&)> LeasedAs(std::string lease_id) {
  return [lease_id = std::move(lease_id)](const RunRecord& r) { return StillLeasedAs(r, lease_id); };
}

}  // namespace

std::shared_ptr<void> Engine::WatchReady(const std::string& env, const std::string& worker_id,
                                         std::function<void()> wake) {
  std::set<std::string> functions;
  if (auto worker = d_.workers.Get(env, worker_id); worker.ok()) {
    functions.insert(worker->function_ids.begin(), worker->function_ids.end());
  }
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(waiters_mu_);
    id = ++next_waiter_;
    waiters_.emplace(id, Waiter{env, std::move(functions), std::move(wake)});
  }
  return std::make_shared<WaiterHandle>([this, id] {
    std::lock_guard<std::mutex> lock(waiters_mu_);
    waiters_.erase(id);
  });
}

void Engine::WakeWaiters(const std::string& env, std::map<std::string, int> pending) {
  if (pending.empty()) return;
  std::vector<std::function<void()>> wakes;
  {
    std::lock_guard<std::mutex> lock(waiters_mu_);
    for (const auto& [id, waiter] : waiters_) {
      if (waiter.env != env) continue;
      for (const auto& fn : waiter.function_ids) {
        auto it = pending.find(fn);
        if (it == pending.end() || it->second == 0) continue;
        --it->second;
        wakes.push_back(waiter.wake);
        break;
      }
    }
  }
  for (auto& w : wakes) w();
}

StreamPublish Engine::FinishEvent(const RunRecord& run) {
  StreamPublish ev = RunStatusEvent(run);
  // One per reported result: a repeat of the result stores it once.
  if (!run.ended_by.empty()) ev.msg_id = run.id + ":finish:" + Sha256Hex(run.ended_by).substr(0, 16);
  return ev;
}

StreamPublish Engine::RunStatusEvent(const RunRecord& run) {
  const std::string status(RunStatusName(run.status));
  json payload = {{"type", "run." + status},
                  {"environment", run.environment},
                  {"run_id", run.id},
                  {"function_id", run.function_id},
                  {"status", status},
                  {"attempt", run.attempt},
                  {"timestamp", FormatRfc3339(NowUnixMillis())}};
  return StreamPublish{"system.run." + run.id + "." + status, payload.dump()};
}

// ---- delivery ----------------------------------------------------------------------------------------------

Result<Engine::LeasePlan> Engine::PlanLease(const FunctionDef& fn, const FetchedJob& job, const std::string& worker_id,
                                            int64_t lease_ms, Values* values, const std::string& push_url) {
  const std::string& env = fn.environment;
  json msg = ParseBoundedJson(job.data);
  if (!msg.is_object() || !msg.contains("run_id") || !msg["run_id"].is_string()) {
    spdlog::error("job message {} of function {} in {} is malformed: dropped", job.stream_seq, fn.id, env);
    (void)d_.jobs.Term(job.ack_subject);
    return Status::Conflict("malformed job message");
  }
  if (job.delivered == 0 || job.stream_seq == 0) {
    (void)d_.jobs.Nak(job.ack_subject, 200);  // its metadata could not be read: decide on a later delivery
    return Status::Conflict("job metadata unreadable");
  }
  const std::string run_id = msg["run_id"];
  // The mirror's copy usually is current; a run just created through another server may not be there yet.
  std::optional<RunStore::Queued> queued = d_.runs.FindUnfinished(env, run_id);
  if (!queued) {
    auto stored = d_.runs.Get(env, run_id);
    if (!stored.ok() && stored.status().is(Code::kNotFound) && job.delivered <= 1) {
      // The record and the job are stored in one batch, to different streams: the job can be visible first.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      stored = d_.runs.Get(env, run_id);
    }
    if (!stored.ok() && !stored.status().is(Code::kNotFound)) {
      (void)d_.jobs.Nak(job.ack_subject, 1000);
      return stored.status();
    }
    if (!stored.ok()) {
      // Not visible yet, or a job whose record was never stored (its batch failed) or has expired: retried with a
      // growing delay for about 6 s, then dropped.
      if (job.delivered < 9) {
        (void)d_.jobs.Nak(job.ack_subject, int64_t{25} << (job.delivered - 1));
      } else {
        spdlog::warn("job for run {} of function {} in {} has no run record: dropped", run_id, fn.id, env);
        (void)d_.jobs.Term(job.ack_subject);
      }
      return Status::Conflict("no run record");
    }
    if (stored->finished()) {
      (void)d_.jobs.Ack(job.ack_subject);  // an outcome was recorded but its ack was lost
      return Status::Conflict("run already finished");
    }
    queued = d_.runs.FindUnfinished(env, run_id);
    if (!queued) queued = RunStore::Queued{std::make_shared<const RunRecord>(std::move(stored).value()), 0};
  }
  const RunRecord& run = *queued->run;
  const Delivery& dl = run.delivery;
  const RunStore::Queued* hint = queued->revision ? &*queued : nullptr;
  const int64_t now = NowUnixMillis();
  // Which message is the run's: the one its lease was taken from (its stream sequence is in the record). Records
  // leased before that was kept fall back to the delivery count (a first delivery cannot be coming back).
  const bool extra =
      dl.state == DeliveryState::kLeased && (dl.job_seq != 0 ? dl.job_seq != job.stream_seq : job.delivered <= 1);
  if (extra) {
    // A second message for the same run (queued again after an unknown outcome, beyond the duplicate window),
    // not one coming back: the run's own message is with its taker.
    spdlog::warn("run {} function={} environment={}: extra job message dropped", run.id, fn.id, env);
    (void)d_.jobs.Term(job.ack_subject);
    return Status::Conflict("duplicate job message");
  }
  if (dl.state == DeliveryState::kLeased) {
    {
      std::lock_guard<std::mutex> lock(leases_mu_);
      if (auto held = leases_.find(dl.lease_token); held != leases_.end()) {
        // Our own live lease came back (this process was too busy to send its in-progress ack in time): keep
        // it, and settle through the new delivery from now on.
        held->second.ack_subject = job.ack_subject;
        held->second.last_progress_ms = 0;  // an in-progress ack at the next scheduler round
        return Status::Conflict("own lease came back; kept");
      }
    }
    // The message came back while the record still shows it leased: the lease was lost without its holder
    // recording it (the holding server died or stalled past AckWait). Record it; the retry policy decides.
    redeliveries_.fetch_add(1);
    spdlog::warn("run {} function={} environment={} attempt={}: job came back while leased to {} (lease lost)", run.id,
                 fn.id, env, dl.attempt, dl.worker_id);
    Status st = FinishAttempt(env, run.id, LostLeaseOutcome(dl.mode == DeliveryMode::kPush, dl.worker_id), {},
                              LeasedAs(dl.lease_token), job.ack_subject, hint);
    if (!st.ok()) (void)d_.jobs.Nak(job.ack_subject, 200);  // decide again on a fresh read
    return Status::Conflict("lease lost; attempt recorded");
  }
  if (dl.state != DeliveryState::kPending) {
    (void)d_.jobs.Nak(job.ack_subject, 200);
    return Status::Conflict("run is not waiting for delivery");
  }
  if (dl.not_before_ms > now + 20) {
    (void)d_.jobs.Nak(job.ack_subject, dl.not_before_ms - now);  // its retry backoff is not over
    return Status::Conflict("attempt not due yet");
  }
  const int attempt = dl.attempt;
  auto still_pending = [attempt](const RunRecord& r) { return StillPending(r, attempt); };
  LeasePlan plan;
  for (const auto& name : fn.secrets) {
    auto r = d_.secrets.ResolveWithRevision(env, name);
    if (!r.ok()) {
      values->clear();
      std::string message = r.status().is(Code::kNotFound)
                                ? "secret \"" + name + "\" declared by function \"" + fn.id +
                                      "\" is not set in environment \"" + env + "\""
                                : "secret \"" + name + "\" could not be resolved: " + r.status().message();
      Outcome failed;
      failed.error = message;
      failed.retryable = true;
      Status finished = FinishAttempt(env, run.id, failed, {}, still_pending, job.ack_subject, hint);
      if (!finished.ok()) (void)d_.jobs.Nak(job.ack_subject, 200);
      if (!finished.ok() && !finished.is(Code::kConflict)) return finished;
      return Status::NotFound(message);
    }
    values->insert_or_assign(name, std::move(r->value));
    plan.resolved[name] = r->revision;
  }
  plan.base = *queued;
  plan.attempt = attempt;
  plan.lease_id = NewId("lease_");
  plan.worker_id = worker_id;
  plan.now_ms = now;
  plan.lease_ms = push_url.empty() ? std::min(lease_ms, fn.timeout_ms) : lease_ms;
  plan.hard_deadline_ms = now + (push_url.empty() ? fn.timeout_ms : plan.lease_ms);
  plan.job_seq = job.stream_seq;
  plan.ack_subject = job.ack_subject;
  return plan;
}

Result<StoredRun> Engine::WriteLease(const LeasePlan& plan) {
  const RunRecord& base = *plan.base.run;
  return d_.runs.Mutate(
      base.environment, base.id, [&](RunRecord& r) { return ApplyLease(plan, r); },
      plan.base.revision ? &plan.base : nullptr);
}

Result<StoredRun> Engine::HoldLease(const FunctionDef& fn, const LeasePlan& plan, Result<StoredRun> written,
                                    Values* values, const Actor& requester, const std::string& push_url,
                                    std::vector<StreamPublish>* events) {
  if (!written.ok()) {
    values->clear();
    (void)d_.jobs.Nak(plan.ack_subject, 0);
    return written.status();
  }
  const RunRecord& run = written->run;
  if (const int64_t available_ms = plan.base.run->delivery.not_before_ms; available_ms > 0) {
    std::lock_guard<std::mutex> lock(latency_mu_);
    delivery_latency_.Add(static_cast<double>(std::max<int64_t>(plan.now_ms - available_ms, 0)) / 1000.0);
  }
  {
    std::lock_guard<std::mutex> lock(leases_mu_);
    HeldLease& h = leases_[plan.lease_id];
    h.env = fn.environment;
    h.run_id = run.id;
    h.worker_id = plan.worker_id;
    h.ack_subject = plan.ack_subject;
    h.attempt = plan.attempt;
    h.push = !push_url.empty();
    h.lease_ms = plan.lease_ms;
    h.hard_deadline_ms = plan.hard_deadline_ms;
    h.deadline_ms = plan.now_ms + plan.lease_ms;
    h.last_progress_ms = plan.now_ms;
  }
  // Now "running", and who receives which secret: one audit event per secret (names and revisions, never values).
  // Nothing is delivered unless these are stored.
  events->push_back(RunStatusEvent(run));
  for (const auto& [name, revision] : plan.resolved) {
    SystemEvents::SecretDelivery d{name,
                                   revision,
                                   run.id,
                                   plan.attempt,
                                   fn.id,
                                   push_url.empty() ? plan.worker_id : "",
                                   push_url.empty() ? "" : AuditUrl(push_url)};
    events->push_back(d_.audit.SecretDelivered(fn.environment, d, requester));
  }
  return written;
}

Result<StoredRun> Engine::Take(const FunctionDef& fn, const FetchedJob& job, const std::string& worker_id,
                               int64_t lease_ms, Values* values, const Actor& requester, const std::string& push_url) {
  IF_ASSIGN_OR_RETURN(auto plan, PlanLease(fn, job, worker_id, lease_ms, values, push_url));
  std::vector<StreamPublish> events;
  auto leased = HoldLease(fn, plan, WriteLease(plan), values, requester, push_url, &events);
  if (!leased.ok()) return leased;
  if (Status audited = d_.audit.PublishAll(events); !audited.ok()) {
    values->clear();
    Unaudited(fn.environment, leased->run.id, plan.lease_id, job.ack_subject);
    return audited;
  }
  return leased;
}

void Engine::Unaudited(const std::string& env, const std::string& run_id, const std::string& lease_id,
                       const std::string& ack_subject) {
  Outcome unaudited;
  unaudited.error = "the delivery could not be audited (NATS unavailable); not delivered";
  (void)FinishAttempt(env, run_id, unaudited, {}, LeasedAs(lease_id), ack_subject);
}

std::string Engine::DeliveryJson(const RunRecord& run, const Values& values, const std::string& lease_token) {
  const bool pull = !lease_token.empty();
  json steps = json::array();
  for (const auto& s : run.steps) steps.push_back({{"id", s.id}, {"output", ParseOr(s.output_json, nullptr)}});
  json secrets = json::object();
  for (const auto& [name, value] : values) secrets[name] = std::string(value.view());
  json doc = {{"run_id", run.id},
              {"environment", run.environment},
              {"function_id", run.function_id},
              {"attempt", run.delivery.attempt},
              {"event",
               {{"id", run.event_id},
                {"name", run.event_name},
                {"data", ParseOr(run.event_data_json, nullptr)},
                {"timestamp", run.event_timestamp}}},
              {"steps", steps}};
  if (pull) {
    doc["job_id"] = run.delivery.job_id;
    doc["lease_token"] = lease_token;
    doc["context"] = {{"secrets", secrets}};
  } else {
    doc["secrets"] = secrets;
  }
  std::string out = doc.dump();
  // Wipe the copies of the values inside the JSON trees before they are freed.
  for (auto& [name, value] : secrets.items()) Cleanse(value.get_ref<std::string&>());
  if (pull) {
    for (auto& [name, value] : doc["context"]["secrets"].items()) Cleanse(value.get_ref<std::string&>());
  } else {
    for (auto& [name, value] : doc["secrets"].items()) Cleanse(value.get_ref<std::string&>());
  }
  return out;
}

Engine::Outcome Engine::LostLeaseOutcome(bool push, const std::string& worker_id) {
  Outcome lost;
  lost.lease_lost = true;
  lost.error = push ? "push call timed out or its server stopped"
                    : "worker \"" + worker_id + "\" lost its lease (crashed, stalled or timed out)";
  return lost;
}

Status Engine::FinishAttempt(const std::string& env, const std::string& run_id, const Outcome& outcome,
                             const Values& values, const std::function<Status(const RunRecord&)>& check,
                             const std::string& ack_subject, const RunStore::Queued* hint, Status* audited_out) {
  // Redact everything the function returned before it is stored.
  JobResult redacted;
  redacted.completed = outcome.completed;
  redacted.retryable = outcome.retryable;
  redacted.output_json = outcome.completed ? Redact(outcome.output_json, values) : "null";
  redacted.error = Redact(outcome.error, values);
  for (const auto& s : outcome.steps) redacted.steps.push_back({s.id, Redact(s.output_json, values)});

  AttemptEnd end;
  // One CAS moves the run to its next state; the next attempt (if any) is part of the same write, so a crash
  // can neither lose it nor leave a finished run with a live attempt.
  auto done = d_.runs.Mutate(
      env, run_id,
      [&](RunRecord& r) -> Status {
        IF_RETURN_IF_ERROR(check(r));
        auto fn = d_.functions.Get(env, r.function_id);
        end = ApplyOutcome(redacted, outcome.reported_as, fn.ok() ? fn->retry : RetryPolicy{}, NowUnixMillis(), r);
        return Status::Ok();
      },
      hint);
  if (!done.ok()) return done.status();
  const RunRecord& run = done->run;
  if (!end.ended_lease.empty()) {  // no more in-progress acks for it (they would undo the settle below)
    std::lock_guard<std::mutex> lock(leases_mu_);
    leases_.erase(end.ended_lease);
  }
  // The job message follows the record: done with it, or back after the backoff for the next attempt. If this
  // is lost, the message returns after AckWait and its taker settles it from the record.
  if (run.finished()) {
    (void)(run.status == RunStatus::kCompleted ? d_.jobs.Ack(ack_subject) : d_.jobs.Term(ack_subject));
  } else {
    (void)d_.jobs.Nak(ack_subject, end.retry_delay_ms);
  }
  if (!outcome.completed) (outcome.lease_lost ? lease_expiries_ : attempt_failures_).fetch_add(1);
  Status audited = d_.audit.PublishAll({FinishEvent(run)});
  if (audited_out) *audited_out = audited;
  if (run.finished()) {
    runs_finished_.fetch_add(1);
  } else if (end.retry_delay_ms == 0) {
    NotifyReady(env, run.function_id);  // a delayed retry is woken for by the scheduler when it is due
  }
  spdlog::info("run {} function={} environment={} attempt={} -> {}", run.id, run.function_id, run.environment,
               end.attempt, RunStatusName(run.status));
  return Status::Ok();
}

RuntimeStats Engine::stats() const {
  RuntimeStats out;
  out.runs_finished = runs_finished_.load();
  out.lease_expiries = lease_expiries_.load();
  out.attempt_failures_error = attempt_failures_.load();
  out.job_redeliveries = redeliveries_.load();
  out.job_consumers_recreated = d_.jobs.consumers_recreated();
  std::lock_guard<std::mutex> lock(latency_mu_);
  out.delivery_latency = delivery_latency_;
  return out;
}

// ---- pull mode --------------------------------------------------------------------------------------------

Status Engine::RegisterWorker(const std::string& env, WorkerInfo info) {
  info.registered_at = info.last_seen = FormatRfc3339(NowUnixMillis());
  return d_.workers.Register(env, info);
}

Status Engine::Heartbeat(const std::string& env, const std::string& worker_id) {
  IF_ASSIGN_OR_RETURN(auto worker, d_.workers.Get(env, worker_id));
  // The worker's leases may be held by any server: every server hears this and extends the ones it holds.
  return d_.nats.Publish(std::string(kHeartbeatSubject) + env, worker_id);
}

void Engine::OnWorkerHeartbeat(const std::string& env, const std::string& worker_id) {
  const int64_t now = NowUnixMillis();
  std::lock_guard<std::mutex> lock(leases_mu_);
  for (auto& [id, h] : leases_) {
    if (h.push || h.env != env || h.worker_id != worker_id || h.deadline_ms < now) continue;
    h.deadline_ms = std::min(now + h.lease_ms, h.hard_deadline_ms);
  }
}

namespace {
// What the record keeps of a worker's result: its lease id and a MAC of the body (keyed, as the body may hold a
// value the worker failed to keep out of its output; redaction happens later).
std::string ReportedAs(const std::string& lease_id, std::string_view result_body, ByteView key) {
  return lease_id + ":" + HexEncode(HmacSha256(key, AsBytes(result_body))).substr(0, 32);
}
// The lease-signing keys in force (current first), as the views OpenLeaseToken takes.

std::vector<ByteView> LeaseKeys(const SigningKeyring::Keys& keys) {
  std::vector<ByteView> out{keys.current.view()};
  if (!keys.previous.empty() && NowUnixMillis() < keys.previous_until_ms) out.push_back(keys.previous.view());
  return out;
}
}  // namespace

Result<std::vector<std::string>> Engine::PollJobs(const std::string& env, const std::string& worker_id, int available,
                                                  const Actor& requester) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return std::vector<std::string>();  // shutting down: lease nothing more (a long poll gets 204)
  }
  IF_ASSIGN_OR_RETURN(auto worker, d_.workers.Get(env, worker_id));
  const int limit = std::max(1, std::min(available, worker.max_concurrent_jobs));
  // The queues to fetch from. A fetch from an empty queue is one NATS round trip, cheaper than scanning the
  // mirror while a backlog builds; a worker serving many functions asks only those with something to take (an
  // attempt due now, or a lease that may have run out, whose job comes back).
  std::set<std::string> wanted(worker.function_ids.begin(), worker.function_ids.end());
  std::set<std::string> candidates;
  if (wanted.size() <= kDirectFetchFunctions) {
    candidates = wanted;
  } else {
    const int64_t now = NowUnixMillis();
    for (const auto& q : d_.runs.Unfinished(env)) {
      const Delivery& dl = q.run->delivery;
      if (!wanted.count(q.run->function_id) || dl.mode != DeliveryMode::kPull) continue;
      if (ReadyForPull(dl, now) || MayComeBack(dl, now)) candidates.insert(q.run->function_id);
    }
  }
  // Every job taken is leased first; their `running` and access events are then stored in one round trip, and
  // only then are the jobs delivered (none of them if the events cannot be stored).
  struct Taken {
    FunctionDef fn;
    LeasePlan plan;
    RunRecord run;  // as leased
    Values values;
  };
  std::vector<Taken> taken;
  taken.reserve(static_cast<size_t>(limit));
  std::vector<StreamPublish> events;
  for (const auto& fn_id : candidates) {
    if (static_cast<int>(taken.size()) >= limit) break;
    auto fn = d_.functions.Get(env, fn_id);
    if (!fn.ok() || fn->mode != DeliveryMode::kPull) continue;
    // Left for a worker whose key covers the function and every secret it declares.
    if (!CheckActorCovers(requester, fn->id, fn->secrets).ok()) continue;
    auto jobs = d_.jobs.Fetch(JobQueue::QueueName(env, fn_id), limit - static_cast<int>(taken.size()));
    if (!jobs.ok()) {
      spdlog::warn("could not fetch jobs of function {} in {}: {}", fn_id, env, jobs.status().message());
      continue;
    }
    for (const auto& job : *jobs) {
      Taken t;
      auto plan = PlanLease(*fn, job, worker_id, worker.lease_ms, &t.values);
      if (!plan.ok()) continue;  // settled as its record says, or failed for a missing secret
      t.fn = *fn;
      t.plan = std::move(plan).value();
      taken.push_back(std::move(t));
    }
  }
  std::vector<std::string> out;
  if (taken.empty()) return out;
  // The leases of every job taken, in one round trip (compare-and-set each against the mirror's revision it was
  // planned from); one that did not land there is written again from a fresh read.
  std::vector<StoredRun> planned;
  std::vector<size_t> batched;
  for (size_t i = 0; i < taken.size(); ++i) {
    if (!taken[i].plan.base.revision) continue;
    StoredRun p{*taken[i].plan.base.run, taken[i].plan.base.revision};
    (void)ApplyLease(taken[i].plan, p.run);  // the plan was made from this record: its attempt is pending
    planned.push_back(std::move(p));
    batched.push_back(i);
  }
  std::vector<std::optional<Result<StoredRun>>> written(taken.size());
  // A single lease goes through WriteLease: the same one round trip, without the batch's per-call reply inbox.
  if (planned.size() > 1) {
    auto answers = d_.runs.UpdateMany(std::move(planned));
    for (size_t k = 0; k < batched.size(); ++k) {
      if (answers[k].ok()) written[batched[k]] = std::move(answers[k]);
    }
  }
  std::vector<Taken> held;
  for (size_t i = 0; i < taken.size(); ++i) {
    Taken& t = taken[i];
    auto leased = HoldLease(t.fn, t.plan, written[i] ? std::move(*written[i]) : WriteLease(t.plan), &t.values,
                            requester, "", &events);
    if (!leased.ok()) continue;
    t.run = std::move(leased).value().run;
    held.push_back(std::move(t));
  }
  taken.swap(held);
  if (taken.empty()) return out;
  if (Status audited = d_.audit.PublishAll(events); !audited.ok()) {
    for (auto& t : taken) {
      t.values.clear();
      Unaudited(env, t.run.id, t.run.delivery.lease_token, t.plan.ack_subject);
    }
    return audited;
  }
  const auto keys = d_.signing.keys();
  for (auto& t : taken) {
    LeaseClaim claim{env, t.run.id, t.run.delivery.attempt, worker_id, t.run.delivery.lease_token, t.plan.ack_subject};
    out.push_back(DeliveryJson(t.run, t.values, SealLeaseToken(claim, keys->current.view())));
    t.values.clear();
  }
  return out;
}

Status Engine::CompleteJob(const std::string& env, const std::string& worker_id, const std::string& job_id,
                           const JobResult& result, std::string_view body) {
  const Status not_leased = Status::Conflict("job \"" + job_id + "\" is not leased (finished or expired)");
  std::string run_id;
  int attempt = 0;
  if (!ParseJobId(job_id, &run_id, &attempt)) return not_leased;
  IF_ASSIGN_OR_RETURN(auto claim, OpenLeaseToken(result.lease_token, LeaseKeys(*d_.signing.keys())));
  if (claim.environment != env || claim.run_id != run_id || claim.attempt != attempt || claim.worker_id != worker_id) {
    return Status::Conflict("lease token does not match job \"" + job_id + "\" (lease expired or taken over)");
  }
  const std::string lease_id = claim.lease_id;
  const auto signing_keys = d_.signing.keys();
  const ByteView result_key = signing_keys->current.view();
  auto check = [&](const RunRecord& r) -> Status {
    const Delivery& dl = r.delivery;
    if (dl.job_id != job_id || dl.mode != DeliveryMode::kPull || dl.state != DeliveryState::kLeased) return not_leased;
    if (dl.worker_id != worker_id || !ConstantTimeEquals(dl.lease_token, lease_id)) {
      return Status::Conflict("lease token does not match job \"" + job_id + "\" (lease expired or taken over)");
    }
    return Status::Ok();
  };
  // The same result again (its first answer was lost, or a duplicate raced it): it was recorded. Its event is
  // stored once more (same de-duplication id: kept once) if the record still shows what the result did.
  const std::string reported_as = ReportedAs(lease_id, body, result_key);
  auto repeat_of_recorded = [&](Status refused) -> Status {
    auto stored = d_.runs.Get(env, run_id);
    if (!stored.ok()) return refused;
    if (stored->ended_by.empty() || !ConstantTimeEquals(stored->ended_by, reported_as)) return refused;
    if (stored->attempt != attempt) return Status::Ok();
    Status audited = d_.audit.PublishAll({FinishEvent(*stored)});
    return audited.ok() ? Status::Ok()
                        : Status::Unavailable("the result was recorded but its audit event could not be stored (" +
                                              audited.message() + ")");
  };
  // The mirror's copy usually is current; if it lags another server's lease, read the bucket.
  std::optional<RunStore::Queued> hint = d_.runs.FindUnfinished(env, run_id);
  RunRecord current;
  if (hint && check(*hint->run).ok()) {
    current = *hint->run;
  } else {
    hint.reset();
    auto stored = d_.runs.Get(env, run_id);
    if (!stored.ok()) return stored.status().is(Code::kNotFound) ? not_leased : stored.status();
    if (Status leased = check(*stored); !leased.ok()) return repeat_of_recorded(leased);
    current = std::move(stored).value();
  }

  Outcome outcome(result);
  outcome.reported_as = reported_as;
  // Redact with exactly the values this attempt received (their revisions are in the run's delivery).
  Values values;
  for (const auto& [name, rev] : current.delivery.resolved) {
    auto v = d_.secrets.ResolveRevision(env, name, rev);
    if (!v.ok()) v = d_.secrets.Resolve(env, name);  // history trimmed: the current value is the best we have
    if (v.ok()) values.insert_or_assign(name, std::move(v).value());
  }
  Status audited;
  Status st = FinishAttempt(env, run_id, outcome, values, check, claim.ack_subject, hint ? &*hint : nullptr, &audited);
  values.clear();
  if (st.is(Code::kConflict)) return repeat_of_recorded(st);  // lost the race to the same result sent twice
  if (st.ok() && !audited.ok()) {
    return Status::Unavailable("the result was recorded but its audit event could not be stored (" + audited.message() +
                               ")");
  }
  return st;
}

// ---- scheduler: lease expiry and push dispatch -------------------------------------------------------------

void Engine::SchedulerLoop() {
  for (;;) {
    std::deque<std::tuple<std::string, std::string, std::string>> events;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping_ || !system_events_.empty(); });
      if (stopping_) return;
      events.swap(system_events_);
    }
    for (auto& [env, subject, payload] : events) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
      }
      StoredEvent ev{NewId("evt_"), subject, env, payload, FormatRfc3339(NowUnixMillis())};
      auto runs = StartRuns(env, ev);
      if (!runs.ok()) spdlog::warn("could not start runs for {}: {}", subject, runs.status().message());
    }
    ScanOnce();
  }
}

void Engine::ScanOnce() {
  ReapLeases();
  std::vector<std::array<std::string, 3>> unqueued;
  {
    std::lock_guard<std::mutex> lock(mu_);
    unqueued.swap(unqueued_);
  }
  for (const auto& [env, fn, run] : unqueued) {
    auto record = d_.runs.Get(env, run);
    if (!record.ok() && record.status().is(Code::kNotFound)) continue;  // never stored: nothing waits
    Status st = record.ok() ? (record->finished() ? Status::Ok() : Enqueue(env, fn, run)) : record.status();
    if (!st.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      unqueued_.push_back({env, fn, run});
    }
  }
  const int64_t now = NowUnixMillis();
  // The walk below costs time in proportion to the backlog of unfinished runs (about a microsecond each here). It
  // is spaced to at least kScanShare times its own duration, so a backlog of any size (workers gone for hours)
  // keeps this thread under about 1/kScanShare of a core; retry and push timing then coarsen in proportion.
  const auto walk_start = std::chrono::steady_clock::now();
  if (walk_start < next_walk_) return;
  // Pull attempts ready now, per environment and function: their waiters are woken below (covers a mirror that had
  // not seen a new run when its notification arrived, and retries whose backoff ended). A lease that ran out
  // without its holder recording it (the holder died) comes back after AckWait: those wake a waiter once a second.
  const bool redelivery_wake = now - last_redelivery_wake_ms_ >= 1000;
  if (redelivery_wake) last_redelivery_wake_ms_ = now;
  std::map<std::string, std::map<std::string, int>> ready_pull;
  std::map<std::pair<std::string, std::string>, int> ready_push;  // (env, function) -> attempts to take
  d_.runs.ForEachUnfinished([&](const RunRecord& run) {
    const Delivery& dl = run.delivery;
    const bool lapsed = MayComeBack(dl, now);
    if (dl.mode == DeliveryMode::kPull) {
      if (ReadyForPull(dl, now) || (lapsed && redelivery_wake)) ++ready_pull[run.environment][run.function_id];
    } else if (DueForPush(dl, now) || lapsed) {
      ++ready_push[{run.environment, run.function_id}];
    }
  });
  next_walk_ = walk_start + kScanShare * (std::chrono::steady_clock::now() - walk_start);
  for (auto& [env, pending] : ready_pull) WakeWaiters(env, std::move(pending));
  for (const auto& [key, count] : ready_push) {
    const int room = d_.push.room();
    if (room <= 0) break;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    auto fn = d_.functions.Get(key.first, key.second);
    if (!fn.ok() || fn->mode != DeliveryMode::kPush) continue;
    auto jobs = d_.jobs.Fetch(JobQueue::QueueName(key.first, key.second), std::min(count, room));
    if (!jobs.ok()) continue;
    for (const auto& job : *jobs) {
      Values values;
      // Push leases cover the call's timeout plus a margin; the job comes back to another server only after that.
      auto leased = Take(*fn, job, server_id_, fn->timeout_ms + 5000, &values, server_actor_, fn->url);
      if (!leased.ok()) continue;
      DispatchPush(std::move(leased->run), *fn, std::move(values), job.ack_subject);
    }
  }
}

bool Engine::MayComeBack(const Delivery& dl, int64_t now) {
  if (dl.state != DeliveryState::kLeased || dl.leased_at_ms + d_.jobs.ack_wait_ms() >= now) return false;
  std::lock_guard<std::mutex> lock(leases_mu_);
  return !leases_.count(dl.lease_token);  // a lease this process holds is kept alive, not coming back
}

void Engine::ReapLeases() {
  const int64_t now = NowUnixMillis();
  std::vector<std::pair<std::string, HeldLease>> lost;
  std::vector<std::string> progress;
  {
    std::lock_guard<std::mutex> lock(leases_mu_);
    for (auto it = leases_.begin(); it != leases_.end();) {
      HeldLease& h = it->second;
      if (h.deadline_ms < now) {
        lost.emplace_back(it->first, h);
        it = leases_.erase(it);
        continue;
      }
      // Keep the message with this lease: an in-progress ack well within every AckWait.
      if (now - h.last_progress_ms >= d_.jobs.ack_wait_ms() / 3) {
        h.last_progress_ms = now;
        progress.push_back(it->first);
      }
      ++it;
    }
  }
  // Only for leases the run record still shows (another server may have recorded one as lost: then an
  // in-progress ack would hold back the retry it scheduled).
  for (const auto& lease_id : progress) {
    std::string env, run_id, ack_subject;
    {
      std::lock_guard<std::mutex> lock(leases_mu_);
      auto it = leases_.find(lease_id);
      if (it == leases_.end()) continue;
      env = it->second.env;
      run_id = it->second.run_id;
      ack_subject = it->second.ack_subject;
    }
    auto current = d_.runs.FindUnfinished(env, run_id);
    if (current && current->run->delivery.lease_token != lease_id) {
      std::lock_guard<std::mutex> lock(leases_mu_);
      leases_.erase(lease_id);
      continue;
    }
    (void)d_.jobs.InProgress(ack_subject);
  }
  for (const auto& [lease_id, h] : lost) {
    const Outcome outcome = LostLeaseOutcome(h.push, h.worker_id);
    // Re-checked on the current record: a result through another server may have got there first.
    Status st = FinishAttempt(h.env, h.run_id, outcome, {}, LeasedAs(lease_id), h.ack_subject);
    if (!st.ok() && !st.is(Code::kConflict)) {
      spdlog::warn("lost lease of run {} not recorded: {} (its job comes back after AckWait)", h.run_id, st.message());
    }
  }
}

void Engine::QueueUnqueuedRuns() {
  int queued = 0;
  for (const auto& q : d_.runs.Unfinished("")) {
    const RunRecord& run = *q.run;
    if (run.delivery.queue == kJobsQueue) continue;
    // Marked first, then queued: once marked, a message for it is its own (and a failed enqueue is retried by
    // the scheduler). An attempt leased under the old layout is offered again: its worker's token is not valid
    // any more.
    Status st = d_.runs
                    .Mutate(
                        run.environment, run.id, [](RunRecord& r) { return MoveToJobStream(NowUnixMillis(), r); }, &q)
                    .status();
    // Not queued (or the mark's outcome is unknown: it may be marked already): the scheduler queues it if its
    // record is unfinished (de-duplicated by run id).
    if ((st.ok() && !Enqueue(run.environment, run.function_id, run.id).ok()) || (!st.ok() && !st.is(Code::kConflict))) {
      std::lock_guard<std::mutex> lock(mu_);
      unqueued_.push_back({run.environment, run.function_id, run.id});
    }
    if (st.ok()) {
      ++queued;
    } else if (!st.is(Code::kConflict)) {
      spdlog::warn("run {} recorded before the job stream could not be marked: {} (tried again at the next start)",
                   run.id, st.message());
    }
  }
  if (queued > 0) spdlog::info("queued {} run(s) recorded before the job stream existed", queued);
}

void Engine::DispatchPush(RunRecord leased, const FunctionDef& fn, Values values, std::string ack_subject) {
  PushCall call{fn.url, DeliveryJson(leased, values, /*lease_token=*/""), fn.timeout_ms};
  // The values travel with the call only to redact its answer; they are wiped once it is recorded.
  auto pending = std::make_shared<std::pair<RunRecord, Values>>(std::move(leased), std::move(values));
  const bool started = d_.push.Start(std::move(call), [this, pending, ack = std::move(ack_subject)](PushAnswer answer) {
    FinishPush(pending->first, std::move(answer), pending->second, ack);
  });
  // Stopping: the lease runs out and the job comes back (AckWait) to this or another server.
  if (!started) pending->second.clear();
}

void Engine::FinishPush(const RunRecord& leased, PushAnswer answer, Values& values, const std::string& ack_subject) {
  Outcome outcome;
  if (answer.result.ok()) {
    outcome = Outcome(std::move(answer.result).value());
  } else {
    outcome.error = answer.result.status().message();
    outcome.retryable = answer.retryable;
  }
  // Refused if the push lease expired and the attempt was taken over (lease ids are never reused).
  Status st =
      FinishAttempt(leased.environment, leased.id, outcome, values, LeasedAs(leased.delivery.lease_token), ack_subject);
  if (!st.ok() && !st.is(Code::kConflict))
    spdlog::warn("push result of run {} not recorded: {}", leased.id, st.message());
  values.clear();
}

}  // namespace ironflow::server
