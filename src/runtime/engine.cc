#include "runtime/engine.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "auth/allow_list.h"
#include "common/bounded_json.h"
#include "common/json_nesting.h"
#include "common/names.h"
#include "common/time_util.h"
#include "crypto/digest.h"
#include "http/http_client.h"
#include "runtime/ids.h"
#include "runtime/redactor.h"
#include "runtime/signing.h"

namespace ironflow {

using nlohmann::json;

namespace {

constexpr const char* kReadySubject = "ironflow.jobs.ready.";  // + environment: an attempt became pending
constexpr int kMaxPushInFlight = 32;

json ParseOr(const std::string& text, json fallback) {
  json j = ParseBoundedJson(text);
  return j.is_discarded() ? fallback : j;
}

// Reads {status, output?, error?:{message, retryable}, steps?} (the shape both modes answer with).
Result<json> ParseResultBody(const std::string& body, bool require_lease_token) {
  IF_RETURN_IF_ERROR(CheckJsonNesting(body, "result"));
  json doc = ParseBoundedJson(body);
  if (!doc.is_object()) return Status::InvalidArgument("result must be a JSON object");
  static const std::set<std::string> kAllowed = {"lease_token", "status", "output", "error", "steps"};
  for (const auto& item : doc.items()) {
    if (!kAllowed.count(item.key())) return Status::InvalidArgument("unknown field \"" + item.key().substr(0, 64) + "\"");
  }
  if (require_lease_token && (!doc.contains("lease_token") || !doc["lease_token"].is_string())) {
    return Status::InvalidArgument("field \"lease_token\" is required");
  }
  if (!doc.contains("status") || !doc["status"].is_string() || (doc["status"] != "completed" && doc["status"] != "failed")) {
    return Status::InvalidArgument("field \"status\" must be \"completed\" or \"failed\"");
  }
  if (doc.contains("error") && !doc["error"].is_null()) {
    const json& e = doc["error"];
    if (!e.is_object() || !e.contains("message") || !e["message"].is_string()) {
      return Status::InvalidArgument("field \"error\" must be {\"message\": string, \"retryable\": bool}");
    }
    if (e.contains("retryable") && !e["retryable"].is_boolean()) return Status::InvalidArgument("field \"error.retryable\" must be a boolean");
  }
  if (doc.contains("steps") && !doc["steps"].is_null()) {
    if (!doc["steps"].is_array()) return Status::InvalidArgument("field \"steps\" must be an array");
    for (const auto& s : doc["steps"]) {
      if (!s.is_object() || !s.contains("id") || !s["id"].is_string() || s["id"].get<std::string>().empty()) {
        return Status::InvalidArgument("each step must be {\"id\": string, \"output\": any}");
      }
    }
  }
  return doc;
}

}  // namespace

Engine::Engine(Deps deps, std::string push_ca_file) : d_(deps), push_ca_file_(std::move(push_ca_file)) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  server_id_ = "server-" + std::string(host) + "-" + std::to_string(getpid());
  server_actor_ = Actor{"server", server_id_, "push dispatcher", "", ""};
}

Engine::~Engine() { Stop(); }

Status Engine::Start() {
  auto sub = d_.nats.Subscribe("ironflow.jobs.ready.>", [this](std::string_view subject, std::string_view) {
    WakeWaiters(std::string(subject.substr(std::string_view(kReadySubject).size())));
  });
  if (!sub.ok()) return sub.status();
  ready_sub_ = std::move(sub).value();
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
  // Let push calls in flight finish (each is bounded by its function's timeout).
  while (push_in_flight_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ready_sub_.reset();
}

void Engine::WipeValues(Values& values) {
  for (auto& [name, value] : values) Cleanse(value);
  values.clear();
}

// ---- events and runs --------------------------------------------------------------------------------------

Result<Engine::Emitted> Engine::Emit(const std::string& env, const std::string& name, const std::string& data_json,
                                     const std::string& metadata_json) {
  auto ev = d_.events.Publish(env, name, data_json, metadata_json);
  if (!ev.ok()) return ev.status();
  auto runs = StartRuns(env, *ev);
  if (!runs.ok()) return runs.status();
  return Emitted{std::move(ev).value(), std::move(runs).value()};
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

Result<std::vector<std::string>> Engine::StartRuns(const std::string& env, const StoredEvent& event) {
  auto fns = d_.functions.TriggeredBy(env, event.name);
  if (!fns.ok()) return fns.status();
  std::vector<std::string> run_ids;
  for (const auto& fn : *fns) {
    RunRecord run;
    run.id = NewId("run_");
    run.function_id = fn.id;
    run.environment = env;
    run.event_id = event.id;
    run.event_name = event.name;
    run.event_data_json = event.data_json;
    run.event_timestamp = event.timestamp;
    run.status = "queued";
    run.attempt = 0;
    run.created_at = run.updated_at = FormatRfc3339(NowUnixMillis());
    run.delivery.job_id = JobIdFor(run.id, 1);
    run.delivery.mode = fn.mode;
    run.delivery.attempt = 1;
    run.delivery.state = "pending";
    run.delivery.not_before_ms = NowUnixMillis();
    auto created = d_.runs.Create(run);
    if (!created.ok()) return created.status();
    PublishRunStatus(run);
    run_ids.push_back(run.id);
  }
  if (!run_ids.empty()) NotifyReady(env);
  return run_ids;
}

void Engine::NotifyReady(const std::string& env) { (void)d_.nats.Publish(std::string(kReadySubject) + env, ""); }

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
  std::string out = url.substr(0, host_start) + url.substr(host, end == std::string::npos ? std::string::npos : end - host);
  if (end != std::string::npos && url[end] == '/') out += url.substr(end, url.find_first_of("?#", end) - end);
  return out;
}

// A pull attempt a worker could lease now.
bool ReadyForPull(const Delivery& dl, int64_t now) {
  return dl.mode == "pull" && dl.state == "pending" && dl.not_before_ms <= now;
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

void Engine::WakeWaiters(const std::string& env) {
  {
    std::lock_guard<std::mutex> lock(waiters_mu_);
    if (waiters_.empty()) return;
  }
  std::map<std::string, int> pending;
  const int64_t now = NowUnixMillis();
  for (const auto& q : d_.runs.Unfinished(env)) {
    if (ReadyForPull(q.run->delivery, now)) ++pending[q.run->function_id];
  }
  WakeWaiters(env, std::move(pending));
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

void Engine::PublishRunStatus(const RunRecord& run) {
  json payload = {{"type", "run." + run.status}, {"environment", run.environment}, {"run_id", run.id},
                  {"function_id", run.function_id}, {"status", run.status}, {"attempt", run.attempt},
                  {"timestamp", FormatRfc3339(NowUnixMillis())}};
  Status s = d_.system_stream.Publish("system.run." + run.id + "." + run.status, payload.dump());
  if (!s.ok()) spdlog::warn("run {} status event not published: {}", run.id, s.message());
}

// ---- delivery ----------------------------------------------------------------------------------------------

Result<StoredRun> Engine::Lease(const RunStore::Queued& queued, const FunctionDef& fn, const std::string& worker_id,
                                int64_t lease_ms, Values* values, const Actor& requester, const std::string& push_url) {
  const RunRecord& run = *queued.run;
  const std::string job_id = run.delivery.job_id;
  auto still_pending = [job_id](const RunRecord& r) {
    return r.delivery.job_id == job_id && r.delivery.state == "pending" ? Status::Ok()
                                                                       : Status::Conflict("attempt taken meanwhile");
  };
  std::map<std::string, uint64_t> resolved;
  for (const auto& name : fn.secrets) {
    auto r = d_.secrets.ResolveWithRevision(run.environment, name);
    if (!r.ok()) {
      WipeValues(*values);
      std::string message = r.status().is(Code::kNotFound)
                                ? "secret \"" + name + "\" declared by function \"" + fn.id +
                                      "\" is not set in environment \"" + run.environment + "\""
                                : "secret \"" + name + "\" could not be resolved: " + r.status().message();
      Outcome failed;
      failed.error = message;
      failed.retryable = true;
      Status finished = FinishAttempt(run.environment, run.id, failed, {}, still_pending, &queued);
      if (!finished.ok() && !finished.is(Code::kConflict)) return finished;
      return Status::NotFound(message);
    }
    (*values)[name] = std::string(r->value.view());
    resolved[name] = r->revision;
  }
  const int64_t now = NowUnixMillis();
  auto leased = d_.runs.Mutate(
      run.environment, run.id,
      [&](RunRecord& r) -> Status {
        IF_RETURN_IF_ERROR(still_pending(r));
        r.status = "running";
        r.attempt = r.delivery.attempt;
        r.delivery.state = "leased";
        r.delivery.lease_token = NewId("lease_");
        r.delivery.worker_id = worker_id;
        r.delivery.leased_at_ms = now;
        r.delivery.lease_expires_ms = now + std::min(lease_ms, fn.timeout_ms);
        r.delivery.resolved = resolved;
        return Status::Ok();
      },
      &queued);
  if (!leased.ok()) {
    WipeValues(*values);
    return leased.status();
  }
  PublishRunStatus(leased->run);  // now "running": the attempt is with its function
  // Who received which secret: one audit event per secret delivered (names and revisions, never values).
  for (const auto& [name, revision] : resolved) {
    SystemEvents::SecretDelivery d{name, revision, run.id, leased->run.delivery.attempt, fn.id,
                                   push_url.empty() ? worker_id : "", push_url.empty() ? "" : AuditUrl(push_url)};
    d_.audit.SecretDelivered(run.environment, d, requester);
  }
  return leased;
}

std::string Engine::DeliveryJson(const RunRecord& run, const Values& values, bool pull) {
  json steps = json::array();
  for (const auto& s : run.steps) {
    if (s.status == "completed") steps.push_back({{"id", s.id}, {"output", ParseOr(s.output_json, nullptr)}});
  }
  json secrets = json::object();
  for (const auto& [name, value] : values) secrets[name] = value;
  json doc = {{"run_id", run.id},
              {"environment", run.environment},
              {"function_id", run.function_id},
              {"attempt", run.delivery.attempt},
              {"event", {{"id", run.event_id}, {"name", run.event_name}, {"data", ParseOr(run.event_data_json, nullptr)}, {"timestamp", run.event_timestamp}}},
              {"steps", steps}};
  if (pull) {
    doc["job_id"] = run.delivery.job_id;
    doc["lease_token"] = run.delivery.lease_token;
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

Engine::Outcome Engine::OutcomeFromResult(const nlohmann::json& doc) {
  Outcome outcome;
  outcome.completed = doc["status"] == "completed";
  outcome.output_json = doc.contains("output") ? doc["output"].dump() : "null";
  if (doc.contains("error") && doc["error"].is_object()) {
    outcome.error = doc["error"]["message"];
    outcome.retryable = doc["error"].value("retryable", true);
  } else if (!outcome.completed) {
    outcome.error = "function failed";
  }
  if (doc.contains("steps") && doc["steps"].is_array()) {
    for (const auto& st : doc["steps"]) outcome.steps.push_back({st["id"], "completed", st.contains("output") ? st["output"].dump() : "null"});
  }
  return outcome;
}

Status Engine::FinishAttempt(const std::string& env, const std::string& run_id, const Outcome& outcome,
                             const Values& values, const std::function<Status(const RunRecord&)>& check,
                             const RunStore::Queued* hint) {
  // Redact everything the function returned before it is stored.
  const std::string output = outcome.completed ? Redact(outcome.output_json, values) : "null";
  const std::string error = Redact(outcome.error, values);
  std::vector<RunStep> steps;
  for (const auto& s : outcome.steps) steps.push_back({s.id, "completed", Redact(s.output_json, values)});

  int attempt = 0;
  // One CAS moves the run to its next state; the next attempt (if any) is part of the same write, so a crash
  // can neither lose it nor leave a finished run with a live attempt.
  auto done = d_.runs.Mutate(
      env, run_id,
      [&](RunRecord& r) -> Status {
        IF_RETURN_IF_ERROR(check(r));
        auto fn = d_.functions.Get(env, r.function_id);
        const RetryPolicy policy = fn.ok() ? fn->retry : RetryPolicy{};
        attempt = r.delivery.attempt;
        const bool retry = !outcome.completed && outcome.retryable && attempt < policy.max_attempts;
        r.attempt = attempt;
        for (const auto& s : steps) {
          auto it = std::find_if(r.steps.begin(), r.steps.end(), [&](const RunStep& x) { return x.id == s.id; });
          if (it == r.steps.end()) r.steps.push_back(s);
        }
        if (outcome.completed) {
          r.status = "completed";
          r.output_json = output;
          r.error.clear();
          r.delivery = Delivery{};
        } else if (retry) {
          r.status = "queued";
          r.error = error;
          Delivery next;
          next.job_id = JobIdFor(r.id, attempt + 1);
          next.mode = r.delivery.mode;
          next.attempt = attempt + 1;
          next.state = "pending";
          next.not_before_ms = NowUnixMillis() + policy.DelayBefore(attempt + 1);
          r.delivery = next;
        } else {
          r.status = "failed";
          r.error = error;
          r.delivery = Delivery{};
        }
        return Status::Ok();
      },
      hint);
  if (!done.ok()) return done.status();
  const RunRecord& run = done->run;
  PublishRunStatus(run);
  if (run.finished()) {
    runs_finished_.fetch_add(1);
  } else {
    NotifyReady(env);
  }
  spdlog::info("run {} function={} environment={} attempt={} -> {}", run.id, run.function_id, run.environment, attempt,
               run.status);
  return Status::Ok();
}

// ---- pull mode --------------------------------------------------------------------------------------------

Status Engine::RegisterWorker(const std::string& env, WorkerInfo info) {
  info.registered_at = info.last_seen = FormatRfc3339(NowUnixMillis());
  return d_.workers.Register(env, info);
}

Status Engine::Heartbeat(const std::string& env, const std::string& worker_id) {
  auto worker = d_.workers.Get(env, worker_id);
  if (!worker.ok()) return worker.status();
  const int64_t now = NowUnixMillis();
  for (const auto& q : d_.runs.Unfinished(env)) {
    const Delivery& dl = q.run->delivery;
    if (dl.mode != "pull" || dl.state != "leased" || dl.worker_id != worker_id || dl.lease_expires_ms < now) continue;
    auto fn = d_.functions.Get(env, q.run->function_id);
    const int64_t timeout = fn.ok() ? fn->timeout_ms : 30000;
    const std::string job_id = dl.job_id;
    (void)d_.runs.Mutate(
        env, q.run->id,
        [&](RunRecord& r) -> Status {
          if (r.delivery.job_id != job_id || r.delivery.state != "leased" || r.delivery.worker_id != worker_id) {
            return Status::Conflict("finished meanwhile");
          }
          r.delivery.lease_expires_ms = std::min(now + worker->lease_ms, r.delivery.leased_at_ms + timeout);
          return Status::Ok();
        },
        &q);  // a conflict means the attempt finished meanwhile
  }
  return Status::Ok();
}

namespace {
// Marks a run as being leased by one of this process's pollers, so its other pollers try other runs instead
// of racing for the same compare-and-set.
class Reservation {
 public:
  Reservation(std::mutex& mu, std::set<std::string>& held, std::string key) : mu_(mu), held_(held), key_(std::move(key)) {
    std::lock_guard<std::mutex> lock(mu_);
    ok_ = held_.insert(key_).second;
  }
  ~Reservation() {
    if (!ok_) return;
    std::lock_guard<std::mutex> lock(mu_);
    held_.erase(key_);
  }
  bool ok() const { return ok_; }

 private:
  std::mutex& mu_;
  std::set<std::string>& held_;
  std::string key_;
  bool ok_ = false;
};
}  // namespace

Result<std::vector<std::string>> Engine::PollJobs(const std::string& env, const std::string& worker_id, int available,
                                                  const Actor& requester) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return std::vector<std::string>();  // shutting down: lease nothing more (a long poll gets 204)
  }
  auto worker = d_.workers.Get(env, worker_id);
  if (!worker.ok()) return worker.status();
  const int limit = std::max(1, std::min(available, worker->max_concurrent_jobs));
  std::set<std::string> wanted(worker->function_ids.begin(), worker->function_ids.end());
  std::vector<std::string> out;
  const int64_t now = NowUnixMillis();
  for (const auto& q : d_.runs.Unfinished(env)) {
    if (static_cast<int>(out.size()) >= limit) break;
    const Delivery& dl = q.run->delivery;
    if (!ReadyForPull(dl, now) || !wanted.count(q.run->function_id)) continue;
    Reservation reservation(reserved_mu_, reserved_, q.run->key());
    if (!reservation.ok()) continue;
    auto fn = d_.functions.Get(env, q.run->function_id);
    if (!fn.ok()) continue;
    // Left for a worker whose key covers the function and every secret it declares.
    if (!CheckActorCovers(requester, fn->id, fn->secrets).ok()) continue;
    Values values;
    auto leased = Lease(q, *fn, worker_id, worker->lease_ms, &values, requester);
    if (!leased.ok()) continue;  // taken by someone else, or failed for a missing secret
    out.push_back(DeliveryJson(leased->run, values, /*pull=*/true));
    WipeValues(values);
  }
  return out;
}

Status Engine::CompleteJob(const std::string& env, const std::string& worker_id, const std::string& job_id,
                           const std::string& body) {
  auto parsed = ParseResultBody(body, /*require_lease_token=*/true);
  if (!parsed.ok()) return parsed.status();
  const json& doc = *parsed;
  const Status not_leased = Status::Conflict("job \"" + job_id + "\" is not leased (finished or expired)");
  std::string run_id;
  int attempt = 0;
  if (!ParseJobId(job_id, &run_id, &attempt)) return not_leased;
  const std::string token = doc["lease_token"].get<std::string>();
  auto check = [&](const RunRecord& r) -> Status {
    const Delivery& dl = r.delivery;
    if (dl.job_id != job_id || dl.mode != "pull" || dl.state != "leased") return not_leased;
    if (dl.worker_id != worker_id || !ConstantTimeEquals(dl.lease_token, token)) {
      return Status::Conflict("lease token does not match job \"" + job_id + "\" (lease expired or taken over)");
    }
    if (dl.lease_expires_ms < NowUnixMillis()) return Status::Conflict("lease of job \"" + job_id + "\" expired");
    return Status::Ok();
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
    IF_RETURN_IF_ERROR(check(*stored));
    current = std::move(stored).value();
  }

  Outcome outcome = OutcomeFromResult(doc);
  // Redact with exactly the values this attempt received (their revisions are in the run's delivery).
  Values values;
  for (const auto& [name, rev] : current.delivery.resolved) {
    auto v = d_.secrets.ResolveRevision(env, name, rev);
    if (!v.ok()) v = d_.secrets.Resolve(env, name);  // history trimmed: the current value is the best we have
    if (v.ok()) values[name] = std::string(v->view());
  }
  Status st = FinishAttempt(env, run_id, outcome, values, check, hint ? &*hint : nullptr);
  WipeValues(values);
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
      StoredEvent ev{NewId("evt_"), subject, env, payload, FormatRfc3339(NowUnixMillis())};
      auto runs = StartRuns(env, ev);
      if (!runs.ok()) spdlog::warn("could not start runs for {}: {}", subject, runs.status().message());
    }
    ScanOnce();
  }
}

void Engine::ScanOnce() {
  const int64_t now = NowUnixMillis();
  // Pull attempts ready now, per environment and function: their waiters are woken below (covers a mirror that had
  // not seen a new run when its notification arrived, and retries whose backoff ended).
  std::map<std::string, std::map<std::string, int>> ready_pull;
  for (const auto& q : d_.runs.Unfinished("")) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    const RunRecord& run = *q.run;
    const Delivery& dl = run.delivery;
    if (ReadyForPull(dl, now)) ++ready_pull[run.environment][run.function_id];
    if (dl.state == "leased" && dl.lease_expires_ms < now) {
      Outcome lost;
      lost.error = dl.mode == "pull" ? "worker \"" + dl.worker_id + "\" lost its lease (crashed, stalled or timed out)"
                                     : "push call timed out or its server stopped";
      lost.retryable = true;
      const std::string job_id = dl.job_id;
      (void)FinishAttempt(
          run.environment, run.id, lost, {},
          [&](const RunRecord& r) {
            // Re-checked on the current record: a heartbeat or a result elsewhere may have got there first.
            return r.delivery.job_id == job_id && r.delivery.state == "leased" && r.delivery.lease_expires_ms < NowUnixMillis()
                       ? Status::Ok()
                       : Status::Conflict("lease renewed or attempt finished");
          },
          &q);
      continue;
    }
    if (dl.mode == "push" && dl.state == "pending" && dl.not_before_ms <= now && push_in_flight_.load() < kMaxPushInFlight) {
      auto fn = d_.functions.Get(run.environment, run.function_id);
      if (!fn.ok()) continue;
      Values values;
      // Push leases cover the call's timeout plus a margin; another server takes over only after that.
      auto leased = Lease(q, *fn, server_id_, fn->timeout_ms + 5000, &values, server_actor_, fn->url);
      if (!leased.ok()) continue;
      push_in_flight_.fetch_add(1);
      std::thread([this, run = std::move(leased->run), fn = std::move(fn).value(), values = std::move(values)]() mutable {
        DispatchPush(std::move(run), std::move(fn), std::move(values));
        push_in_flight_.fetch_sub(1);
      }).detach();
    }
  }
  for (auto& [env, pending] : ready_pull) WakeWaiters(env, std::move(pending));
}

void Engine::DispatchPush(RunRecord leased, FunctionDef fn, Values values) {
  std::string body = DeliveryJson(leased, values, /*pull=*/false);
  Outcome outcome;
  outcome.retryable = true;
  std::string url = fn.url;
  std::string base = url.substr(0, url.find('/', url.find("://") + 3));
  std::string target = url.size() > base.size() ? url.substr(base.size()) : "/";
  auto client = HttpClient::Create(base, push_ca_file_);
  if (!client.ok()) {
    outcome.error = "invalid push URL or push CA file: " + client.status().message();
    outcome.retryable = false;
  } else {
    int64_t t = NowUnixMillis() / 1000;
    HeaderList headers = {{"Content-Type", "application/json"},
                          {"X-Ironflow-Signature", d_.signing.Sign(t, body)}};
    auto res = (*client)->Send("POST", target, headers, body, static_cast<int>(fn.timeout_ms));
    if (!res.ok()) {
      outcome.error = "push call to " + base + " failed: " + res.status().message();
    } else if (res->status == 200) {
      auto parsed = ParseResultBody(res->body, false);
      if (!parsed.ok()) {
        outcome.error = "push response invalid: " + parsed.status().message();
      } else {
        outcome = OutcomeFromResult(*parsed);
      }
    } else {
      outcome.error = "push call answered HTTP " + std::to_string(res->status);
      // 5xx and 401 are transient (server trouble, signing-key rollout); other 4xx are the app's final word.
      outcome.retryable = res->status >= 500 || res->status == 401 || res->status == 408 || res->status == 429;
    }
  }
  Cleanse(body);
  const std::string job_id = leased.delivery.job_id;
  const std::string token = leased.delivery.lease_token;
  Status st = FinishAttempt(leased.environment, leased.id, outcome, values, [&](const RunRecord& r) {
    return r.delivery.job_id == job_id && r.delivery.state == "leased" && r.delivery.lease_token == token
               ? Status::Ok()
               : Status::Conflict("push lease expired and was taken over");
  });
  if (!st.ok() && !st.is(Code::kConflict)) spdlog::warn("push result of run {} not recorded: {}", leased.id, st.message());
  WipeValues(values);
}

}  // namespace ironflow
