#include "runtime/engine.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "common/names.h"
#include "common/time_util.h"
#include "crypto/digest.h"
#include "http/http_client.h"
#include "runtime/redactor.h"
#include "runtime/signing.h"

namespace ironflow {

using nlohmann::json;

namespace {

constexpr int64_t kFinishingGraceMs = 60000;  // a claimed-but-unfinished job is reconsidered after this
constexpr int kMaxPushInFlight = 32;

json ParseOr(const std::string& text, json fallback) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

bool Terminal(const std::string& status) { return status == "completed" || status == "failed"; }

// Reads {status, output?, error?:{message, retryable}, steps?} (the shape both modes answer with).
Result<json> ParseResultBody(const std::string& body, bool require_lease_token) {
  json doc = json::parse(body, nullptr, false);
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
}

Engine::~Engine() { Stop(); }

Status Engine::Start() {
  auto sub = d_.nats.Subscribe("ironflow.jobs.ready.>", [this](std::string_view, std::string_view) {
    std::lock_guard<std::mutex> lock(mu_);
    ++ready_generation_;
    cv_.notify_all();
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
    IF_RETURN_IF_ERROR(d_.runs.Create(run));
    JobRecord job;
    job.job_id = NewId("job_");
    job.run_id = run.id;
    job.function_id = fn.id;
    job.environment = env;
    job.mode = fn.mode;
    job.attempt = 1;
    job.not_before_ms = NowUnixMillis();
    IF_RETURN_IF_ERROR(d_.jobs.Enqueue(job));
    PublishRunStatus(run);
    run_ids.push_back(run.id);
  }
  return run_ids;
}

void Engine::PublishRunStatus(const RunRecord& run) {
  json payload = {{"type", "run." + run.status}, {"environment", run.environment}, {"run_id", run.id},
                  {"function_id", run.function_id}, {"status", run.status}, {"attempt", run.attempt},
                  {"timestamp", FormatRfc3339(NowUnixMillis())}};
  Status s = d_.system_stream.Publish("system.run." + run.id + "." + run.status, payload.dump());
  if (!s.ok()) spdlog::warn("run {} status event not published: {}", run.id, s.message());
}

// ---- delivery ----------------------------------------------------------------------------------------------

Status Engine::Lease(StoredJob& stored, const FunctionDef& fn, const std::string& worker_id, int64_t lease_ms,
                     Values* values) {
  JobRecord& job = stored.job;
  job.resolved.clear();
  for (const auto& name : fn.secrets) {
    auto r = d_.secrets.ResolveWithRevision(job.environment, name);
    if (!r.ok()) {
      WipeValues(*values);
      std::string message = r.status().is(Code::kNotFound)
                                ? "secret \"" + name + "\" declared by function \"" + fn.id +
                                      "\" is not set in environment \"" + job.environment + "\""
                                : "secret \"" + name + "\" could not be resolved: " + r.status().message();
      Outcome failed;
      failed.error = message;
      failed.retryable = true;
      Status finished = FinishAttempt(stored, failed, {});
      if (!finished.ok() && !finished.is(Code::kConflict)) return finished;
      return Status::NotFound(message);
    }
    (*values)[name] = std::string(r->value.view());
    job.resolved[name] = r->revision;
  }
  const int64_t now = NowUnixMillis();
  job.state = "leased";
  job.lease_token = NewId("lease_");
  job.worker_id = worker_id;
  job.leased_at_ms = now;
  job.lease_expires_ms = now + std::min(lease_ms, fn.timeout_ms);
  auto rev = d_.jobs.Replace(job, stored.revision);
  if (!rev.ok()) {
    WipeValues(*values);
    return rev.status();
  }
  stored.revision = *rev;
  return Status::Ok();
}

std::string Engine::DeliveryJson(const StoredJob& leased, const RunRecord& run, const Values& values, bool pull) {
  const JobRecord& job = leased.job;
  json steps = json::array();
  for (const auto& s : run.steps) {
    if (s.status == "completed") steps.push_back({{"id", s.id}, {"output", ParseOr(s.output_json, nullptr)}});
  }
  json secrets = json::object();
  for (const auto& [name, value] : values) secrets[name] = value;
  json doc = {{"run_id", job.run_id},
              {"environment", job.environment},
              {"function_id", job.function_id},
              {"attempt", job.attempt},
              {"event", {{"id", run.event_id}, {"name", run.event_name}, {"data", ParseOr(run.event_data_json, nullptr)}, {"timestamp", run.event_timestamp}}},
              {"steps", steps}};
  if (pull) {
    doc["job_id"] = job.job_id;
    doc["lease_token"] = job.lease_token;
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

Result<RunRecord> Engine::MarkRunning(const JobRecord& job) {
  auto run = d_.runs.Mutate(job.environment, job.run_id, [&](RunRecord& r) {
    if (Terminal(r.status)) return false;
    r.status = "running";
    r.attempt = job.attempt;
    return true;
  });
  if (run.ok()) PublishRunStatus(*run);
  return run;
}

Status Engine::FinishAttempt(StoredJob stored, const Outcome& outcome, const Values& values) {
  JobRecord job = stored.job;
  // 1. Claim: only one finisher (worker result, lease reaper, push dispatcher) wins the CAS.
  job.state = "finishing";
  job.lease_expires_ms = NowUnixMillis() + kFinishingGraceMs;
  auto claimed = d_.jobs.Replace(job, stored.revision);
  if (!claimed.ok()) return claimed.status();

  auto fn = d_.functions.Get(job.environment, job.function_id);
  RetryPolicy policy = fn.ok() ? fn->retry : RetryPolicy{};

  // 2. Redact everything the function returned before it is stored.
  std::string output = outcome.completed ? Redact(outcome.output_json, values) : "null";
  std::string error = Redact(outcome.error, values);
  std::vector<RunStep> steps;
  for (const auto& s : outcome.steps) steps.push_back({s.id, "completed", Redact(s.output_json, values)});

  const bool retry = !outcome.completed && outcome.retryable && job.attempt < policy.max_attempts;
  // 3. The next attempt is enqueued before the run says "queued", so a crash in between never strands the run.
  if (retry) {
    JobRecord next;
    next.job_id = NewId("job_");
    next.run_id = job.run_id;
    next.function_id = job.function_id;
    next.environment = job.environment;
    next.mode = job.mode;
    next.attempt = job.attempt + 1;
    next.not_before_ms = NowUnixMillis() + policy.DelayBefore(next.attempt);
    IF_RETURN_IF_ERROR(d_.jobs.Enqueue(next));
  }
  auto run = d_.runs.Mutate(job.environment, job.run_id, [&](RunRecord& r) {
    if (Terminal(r.status) || r.attempt > job.attempt) return false;
    r.attempt = job.attempt;
    for (const auto& s : steps) {
      auto it = std::find_if(r.steps.begin(), r.steps.end(), [&](const RunStep& x) { return x.id == s.id; });
      if (it == r.steps.end()) r.steps.push_back(s);
    }
    if (outcome.completed) {
      r.status = "completed";
      r.output_json = output;
      r.error.clear();
    } else {
      r.status = retry ? "queued" : "failed";
      r.error = error;
    }
    return true;
  });
  if (!run.ok() && !run.status().is(Code::kNotFound)) return run.status();
  if (run.ok()) {
    PublishRunStatus(*run);
    if (Terminal(run->status)) runs_finished_.fetch_add(1);
    spdlog::info("run {} function={} environment={} attempt={} -> {}", run->id, run->function_id, run->environment,
                 job.attempt, run->status);
  }
  // 4. Done with this attempt.
  Status removed = d_.jobs.Remove(job, *claimed);
  if (!removed.ok() && !removed.is(Code::kConflict)) return removed;
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
  auto jobs = d_.jobs.List(env);
  if (!jobs.ok()) return jobs.status();
  const int64_t now = NowUnixMillis();
  for (auto& sj : *jobs) {
    if (sj.job.worker_id != worker_id || sj.job.state != "leased" || sj.job.lease_expires_ms < now) continue;
    auto fn = d_.functions.Get(env, sj.job.function_id);
    int64_t timeout = fn.ok() ? fn->timeout_ms : 30000;
    sj.job.lease_expires_ms = std::min(now + worker->lease_ms, sj.job.leased_at_ms + timeout);
    (void)d_.jobs.Replace(sj.job, sj.revision);  // a conflict means it finished meanwhile
  }
  return Status::Ok();
}

Result<std::vector<std::string>> Engine::PollJobs(const std::string& env, const std::string& worker_id, int available,
                                                  int64_t wait_ms) {
  auto worker = d_.workers.Get(env, worker_id);
  if (!worker.ok()) return worker.status();
  const int limit = std::max(1, std::min(available, worker->max_concurrent_jobs));
  std::set<std::string> wanted(worker->function_ids.begin(), worker->function_ids.end());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  std::vector<std::string> out;
  for (;;) {
    uint64_t generation;
    {
      std::lock_guard<std::mutex> lock(mu_);
      generation = ready_generation_;
    }
    auto jobs = d_.jobs.List(env);
    if (!jobs.ok()) return jobs.status();
    std::sort(jobs->begin(), jobs->end(), [](const auto& a, const auto& b) { return a.job.not_before_ms < b.job.not_before_ms; });
    const int64_t now = NowUnixMillis();
    for (auto& sj : *jobs) {
      if (static_cast<int>(out.size()) >= limit) break;
      if (sj.job.mode != "pull" || sj.job.state != "pending" || sj.job.not_before_ms > now || !wanted.count(sj.job.function_id)) continue;
      auto fn = d_.functions.Get(env, sj.job.function_id);
      if (!fn.ok()) continue;
      Values values;
      Status leased = Lease(sj, *fn, worker_id, worker->lease_ms, &values);
      if (!leased.ok()) continue;  // taken by someone else, or failed for a missing secret
      auto run = MarkRunning(sj.job);
      if (!run.ok()) {
        WipeValues(values);
        continue;
      }
      out.push_back(DeliveryJson(sj, *run, values, /*pull=*/true));
      WipeValues(values);
    }
    if (!out.empty() || std::chrono::steady_clock::now() >= deadline) return out;
    std::unique_lock<std::mutex> lock(mu_);
    // Wake on a job notification, or re-scan at least every 250 ms for jobs whose backoff ends.
    cv_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(250)),
                   [&] { return stopping_ || ready_generation_ != generation; });
    if (stopping_) return out;
  }
}

Status Engine::CompleteJob(const std::string& env, const std::string& worker_id, const std::string& job_id,
                           const std::string& body) {
  auto parsed = ParseResultBody(body, /*require_lease_token=*/true);
  if (!parsed.ok()) return parsed.status();
  const json& doc = *parsed;
  auto stored = d_.jobs.Get(env, job_id);
  if (!stored.ok()) {
    if (stored.status().is(Code::kNotFound)) return Status::Conflict("job \"" + job_id + "\" is not leased (finished or expired)");
    return stored.status();
  }
  const JobRecord& job = stored->job;
  if (job.state != "leased" || job.worker_id != worker_id || !ConstantTimeEquals(job.lease_token, doc["lease_token"].get<std::string>())) {
    return Status::Conflict("lease token does not match job \"" + job_id + "\" (lease expired or taken over)");
  }
  if (job.lease_expires_ms < NowUnixMillis()) return Status::Conflict("lease of job \"" + job_id + "\" expired");

  Outcome outcome = OutcomeFromResult(doc);
  // Redact with exactly the values this attempt received (their revisions are in the job record).
  Values values;
  for (const auto& [name, rev] : job.resolved) {
    auto v = d_.secrets.ResolveRevision(env, name, rev);
    if (!v.ok()) v = d_.secrets.Resolve(env, name);  // history trimmed: the current value is the best we have
    if (v.ok()) values[name] = std::string(v->view());
  }
  Status st = FinishAttempt(std::move(stored).value(), outcome, values);
  WipeValues(values);
  if (st.is(Code::kConflict)) return Status::Conflict("job \"" + job_id + "\" was finished or expired meanwhile");
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
  auto jobs = d_.jobs.List("");
  if (!jobs.ok()) return;
  const int64_t now = NowUnixMillis();
  for (auto& sj : *jobs) {
    JobRecord& job = sj.job;
    if ((job.state == "leased" || job.state == "finishing") && job.lease_expires_ms < now) {
      if (job.state == "finishing") {
        // A finisher died mid-way: if the run moved on, just drop the job; otherwise treat it as lost.
        auto run = d_.runs.Get(job.environment, job.run_id);
        if (!run.ok() || Terminal(run->status) || run->attempt > job.attempt) {
          (void)d_.jobs.Remove(job, sj.revision);
          continue;
        }
      }
      Outcome lost;
      lost.error = job.mode == "pull" ? "worker \"" + job.worker_id + "\" lost its lease (crashed, stalled or timed out)"
                                      : "push call timed out or its server stopped";
      lost.retryable = true;
      (void)FinishAttempt(sj, lost, {});
      continue;
    }
    if (job.mode == "push" && job.state == "pending" && job.not_before_ms <= now && push_in_flight_.load() < kMaxPushInFlight) {
      auto fn = d_.functions.Get(job.environment, job.function_id);
      if (!fn.ok()) continue;
      Values values;
      // Push leases cover the call's timeout plus a margin; another server takes over only after that.
      if (!Lease(sj, *fn, server_id_, fn->timeout_ms + 5000, &values).ok()) continue;
      push_in_flight_.fetch_add(1);
      std::thread([this, sj, fn = std::move(fn).value(), values = std::move(values)]() mutable {
        DispatchPush(std::move(sj), std::move(fn), std::move(values));
        push_in_flight_.fetch_sub(1);
      }).detach();
    }
  }
}

void Engine::DispatchPush(StoredJob leased, FunctionDef fn, Values values) {
  auto run = MarkRunning(leased.job);
  if (!run.ok()) {
    WipeValues(values);
    return;
  }
  std::string body = DeliveryJson(leased, *run, values, /*pull=*/false);
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
  Status st = FinishAttempt(leased, outcome, values);
  if (!st.ok() && !st.is(Code::kConflict)) spdlog::warn("push result of run {} not recorded: {}", leased.job.run_id, st.message());
  WipeValues(values);
}

}  // namespace ironflow
