#include "ironflow/worker.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "api_connection.h"
#include "common/bounded_json.h"
#include "job_runner.h"
#include "stop_pipe.h"
#include "store_access.h"

namespace ironflow {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kInitialBackoffMs = 250;
constexpr int kMaxBackoffMs = 5000;
constexpr int kRequestTimeoutMs = 30000;

bool ValidWorkerId(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 128;
  for (char c : id)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  return ok;
}

std::string DefaultWorkerId() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "worker");
  std::string id;
  for (const char* p = host; *p; ++p) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    id.push_back(ok ? c : '-');
  }
  std::string pid = "-" + std::to_string(getpid());
  if (id.size() + pid.size() > 128) id.resize(128 - pid.size());
  return id + pid;
}

class Backoff {
 public:
  int next() {
    int d = delay_;
    delay_ = std::min(delay_ * 2, kMaxBackoffMs);
    return d;
  }
  void reset() { delay_ = kInitialBackoffMs; }

 private:
  int delay_ = kInitialBackoffMs;
};

}  // namespace

struct Worker::Impl {
  WorkerOptions opts;
  std::map<std::string, Function> functions;
  std::shared_ptr<detail::StoreAccess> stores;  // behind ctx.config and ctx.kv()

  std::mutex mu;
  std::condition_variable cv;
  bool running = false;  // guarded by mu
  // stop(): set, then a byte through `stop_pipe` (async-signal-safe); run()'s watcher thread turns the byte into
  // a notify under `mu`, so every wait below that checks stop_flag wakes up.
  std::atomic<bool> stop_flag{false};
  std::atomic<bool> watcher_exit{false};
  detail::StopPipe stop_pipe;
  bool polling_done = false;    // guarded by mu: no more jobs will be queued
  bool executors_done = false;  // guarded by mu
  std::deque<json> queue;       // guarded by mu: received jobs not yet started
  int busy = 0;                 // guarded by mu: queued + running jobs
  std::atomic<bool> need_register{true};

  bool Stopping() const { return stop_flag.load(); }

  // Waits `ms` unless stop() comes first; false if stopping.
  bool Pause(int ms) {
    std::unique_lock<std::mutex> lock(mu);
    return !cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stop_flag.load(); });
  }

  std::string WorkerPath(std::string_view suffix) const {
    return "/api/v1/workers/" + detail::EncodePathSegment(opts.worker_id) + std::string(suffix);
  }

  // ---- the control loop: registration and polling (run()'s thread)

  void ControlLoop() {
    detail::ApiConnection api(opts.server_url, opts.api_key, opts.environment, opts.ca_file);
    Backoff backoff;
    bool functions_registered = false;
    bool outage_logged = false;
    int consecutive_404 = 0;

    auto transient = [&](const detail::ApiOutcome& o, const std::string& what) {
      if (!outage_logged) {
        spdlog::warn("ironflow worker {}: {} failed ({}); retrying with backoff (up to {} ms)", opts.worker_id, what,
                     o.describe(), kMaxBackoffMs);
        outage_logged = true;
      } else {
        spdlog::debug("ironflow worker {}: {} failed again ({})", opts.worker_id, what, o.describe());
      }
      Pause(backoff.next());
    };
    auto healthy = [&] {
      if (outage_logged) spdlog::info("ironflow worker {}: server reachable again", opts.worker_id);
      outage_logged = false;
      backoff.reset();
    };

    while (!Stopping()) {
      if (!functions_registered) {
        bool all = true;
        for (const auto& [id, fn] : functions) {
          auto o = api.call("POST", "/api/v1/functions", detail::FunctionRegistrationBody(fn, "pull", ""),
                            kRequestTimeoutMs);
          if (o.ok()) continue;
          if (o.transient()) {
            transient(o, "registering function \"" + id + "\"");
            all = false;
            break;
          }
          detail::ThrowApiError(o, "registering function \"" + id + "\"");
        }
        if (!all) continue;
        functions_registered = true;
        healthy();
      }
      if (need_register.load()) {
        json ids = json::array();
        for (const auto& [id, fn] : functions) ids.push_back(id);
        json body = {{"function_ids", ids}, {"max_concurrent_jobs", opts.concurrency}, {"lease_ms", opts.lease_ms}};
        auto o = api.call("POST", WorkerPath("/register"), body.dump(), kRequestTimeoutMs);
        if (!o.ok()) {
          if (o.transient()) {
            transient(o, "registering the worker");
            continue;
          }
          detail::ThrowApiError(o, "registering worker \"" + opts.worker_id + "\"");
        }
        need_register.store(false);
        healthy();
        spdlog::info("ironflow worker {}: registered in environment \"{}\" for {} (concurrency {}, lease {} ms)",
                     opts.worker_id, opts.environment, ids.dump(), opts.concurrency, opts.lease_ms);
      }

      int available = 0;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop_flag.load() || busy < opts.concurrency; });
        if (stop_flag.load()) break;
        available = std::min(opts.concurrency - busy, 100);
      }
      std::string target = WorkerPath("/jobs") + "?available=" + std::to_string(available) +
                           "&wait_ms=" + std::to_string(opts.poll_wait_ms);
      auto o = api.call("GET", target, "", opts.poll_wait_ms + 15000);
      if (o.status == 404) {
        // Registration lost (or never seen by this server): register again; back off if it keeps happening.
        spdlog::warn("ironflow worker {}: server does not know this worker ({}); registering again", opts.worker_id,
                     o.describe());
        need_register.store(true);
        if (++consecutive_404 > 1) Pause(backoff.next());
        continue;
      }
      consecutive_404 = 0;
      if (o.status == 204) {
        healthy();
        continue;
      }
      if (o.status == 200) {
        json doc = ParseBoundedJson(o.body);
        OPENSSL_cleanse(o.body.data(), o.body.size());
        if (!doc.is_object() || !doc.contains("jobs") || !doc["jobs"].is_array()) {
          detail::ApiOutcome bad;
          bad.status = 200;
          bad.message = "poll answer is not {\"jobs\": [...]}";
          transient(bad, "polling for jobs");
          continue;
        }
        healthy();
        int n = 0;
        {
          std::lock_guard<std::mutex> lock(mu);
          for (auto& job : doc["jobs"]) {
            queue.push_back(std::move(job));
            ++n;
          }
          busy += n;
        }
        cv.notify_all();
        continue;
      }
      if (o.transient()) {
        transient(o, "polling for jobs");
        continue;
      }
      detail::ThrowApiError(o, "polling for jobs");
    }
  }

  // ---- executors: run jobs and report results

  void ExecutorLoop() {
    std::unique_ptr<detail::ApiConnection> api;
    for (;;) {
      json job;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return !queue.empty() || polling_done; });
        if (queue.empty()) return;
        job = std::move(queue.front());
        queue.pop_front();
      }
      try {
        if (!api)
          api = std::make_unique<detail::ApiConnection>(opts.server_url, opts.api_key, opts.environment, opts.ca_file);
        Execute(job, *api);
      } catch (const std::exception& e) {
        spdlog::error("ironflow worker {}: a job could not be handled: {}", opts.worker_id, e.what());
      }
      detail::WipeJobSecrets(job);
      {
        std::lock_guard<std::mutex> lock(mu);
        --busy;
      }
      cv.notify_all();
    }
  }

  void Execute(json& job, detail::ApiConnection& api) {
    if (!job.is_object()) {
      spdlog::error("ironflow worker {}: ignoring a job that is not a JSON object", opts.worker_id);
      return;
    }
    auto str = [&](const char* key) {
      auto it = job.find(key);
      return it != job.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const std::string job_id = str("job_id");
    const std::string lease_token = str("lease_token");
    const std::string run_id = str("run_id");
    const std::string function_id = str("function_id");
    const int attempt = job.contains("attempt") && job["attempt"].is_number_integer() ? job["attempt"].get<int>() : 0;
    if (job_id.empty() || lease_token.empty()) {
      spdlog::error("ironflow worker {}: ignoring a job without job_id or lease_token (run {})", opts.worker_id,
                    run_id);
      return;
    }

    json result;
    auto fn = functions.find(function_id);
    if (fn == functions.end()) {
      detail::WipeJobSecrets(job);
      result = {{"status", "failed"},
                {"error",
                 {{"message", "function \"" + function_id + "\" is not served by worker \"" + opts.worker_id + "\""},
                  {"retryable", true}}}};
    } else {
      spdlog::debug("ironflow worker {}: run {} function={} attempt={} started", opts.worker_id, run_id, function_id,
                    attempt);
      result = detail::RunJob(fn->second, job, stores, opts.environment);
    }
    const bool completed = result.value("status", "") == "completed";
    const bool retryable = !completed && result["error"].value("retryable", true);
    spdlog::info("ironflow worker {}: run {} function={} attempt={} {}", opts.worker_id, run_id, function_id, attempt,
                 completed   ? "completed"
                 : retryable ? "failed (retryable)"
                             : "failed (not retryable)");

    result["lease_token"] = lease_token;
    std::string body = result.dump();
    const std::string target = WorkerPath("/jobs/") + detail::EncodePathSegment(job_id);
    // Deliver the result while the lease may still be valid, even during shutdown; after that the server has
    // given the job to someone else and the result would be refused anyway.
    const auto deadline = Clock::now() + std::chrono::milliseconds(opts.lease_ms);
    Backoff backoff;
    for (;;) {
      auto o = api.call("PUT", target, body, kRequestTimeoutMs);
      if (o.ok()) break;
      if (o.status == 409) {
        spdlog::warn("ironflow worker {}: result of run {} (job {}) dropped: lease lost ({})", opts.worker_id, run_id,
                     job_id, o.describe());
        break;
      }
      int wait = backoff.next();
      if (!o.transient() || Clock::now() + std::chrono::milliseconds(wait) >= deadline) {
        spdlog::error("ironflow worker {}: result of run {} (job {}) not delivered: {}", opts.worker_id, run_id, job_id,
                      o.describe());
        break;
      }
      spdlog::warn("ironflow worker {}: reporting run {} failed ({}); retrying", opts.worker_id, run_id, o.describe());
      std::this_thread::sleep_for(std::chrono::milliseconds(wait));  // backoff; the result must not be dropped on stop
    }
    OPENSSL_cleanse(body.data(), body.size());
  }

  // ---- heartbeat: extends the leases of running jobs every lease_ms/3

  void HeartbeatLoop() {
    std::unique_ptr<detail::ApiConnection> api;
    const auto interval = std::chrono::milliseconds(std::max<int64_t>(opts.lease_ms / 3, 100));
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu);
        if (cv.wait_for(lock, interval, [&] { return executors_done; })) return;
        if (busy == 0) continue;
      }
      if (!api)
        api = std::make_unique<detail::ApiConnection>(opts.server_url, opts.api_key, opts.environment, opts.ca_file);
      auto o = api->call("POST", WorkerPath("/heartbeat"), "{}",
                         static_cast<int>(std::min<int64_t>(interval.count(), 10000)));
      if (o.ok()) continue;
      if (o.status == 404) {
        spdlog::warn("ironflow worker {}: heartbeat answered 404 ({}); will register again", opts.worker_id,
                     o.describe());
        need_register.store(true);
      } else {
        spdlog::warn("ironflow worker {}: heartbeat failed ({})", opts.worker_id, o.describe());
      }
    }
  }
};

Worker::Worker(WorkerOptions options) : impl_(std::make_unique<Impl>()) {
  if (options.worker_id.empty()) options.worker_id = DefaultWorkerId();
  if (!ValidWorkerId(options.worker_id)) {
    throw std::invalid_argument("invalid worker id \"" + options.worker_id +
                                "\": use 1-128 characters of A-Z, a-z, 0-9, '_' and '-'");
  }
  if (options.concurrency < 1 || options.concurrency > 1000) throw std::invalid_argument("concurrency must be 1-1000");
  if (options.lease_ms < 500 || options.lease_ms > 3600000) throw std::invalid_argument("lease_ms must be 500-3600000");
  if (options.poll_wait_ms < 0 || options.poll_wait_ms > 30000)
    throw std::invalid_argument("poll_wait_ms must be 0-30000");
  if (options.environment.empty()) throw std::invalid_argument("environment must not be empty");
  detail::CheckServerUrl(options.server_url, options.ca_file);
  impl_->stores = std::make_shared<detail::StoreAccess>(options.server_url, options.api_key, 30000, options.ca_file);
  impl_->opts = std::move(options);
}

Worker::~Worker() {
  if (!impl_->opts.api_key.empty()) OPENSSL_cleanse(impl_->opts.api_key.data(), impl_->opts.api_key.size());
}

void Worker::add(const Function& function) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->running) throw Error("Worker::add called while the worker runs; add functions before run()");
  if (!function.handler) throw std::invalid_argument("function \"" + function.config.id + "\" has no handler");
  if (!impl_->functions.emplace(function.config.id, function).second) {
    throw std::invalid_argument("function \"" + function.config.id + "\" added twice");
  }
}

void Worker::run() {
  Impl& im = *impl_;
  {
    std::lock_guard<std::mutex> lock(im.mu);
    if (im.running) throw Error("Worker::run is already running");
    if (im.functions.empty()) throw Error("Worker::run: add at least one function first");
    if (im.stop_flag.load()) {  // stop() came first
      im.stop_flag.store(false);
      im.stop_pipe.Drain();
      return;
    }
    im.running = true;
    im.polling_done = false;
    im.executors_done = false;
    im.busy = 0;
    im.queue.clear();
  }
  im.need_register.store(true);
  spdlog::info("ironflow worker {}: starting against {} (environment \"{}\")", im.opts.worker_id, im.opts.server_url,
               im.opts.environment);

  std::thread watcher([&im] {
    for (;;) {
      im.stop_pipe.Wait(-1);
      if (im.watcher_exit.load()) return;
      { std::lock_guard<std::mutex> lock(im.mu); }
      im.cv.notify_all();
    }
  });
  std::vector<std::thread> executors;
  for (int i = 0; i < im.opts.concurrency; ++i) executors.emplace_back([&im] { im.ExecutorLoop(); });
  std::thread heartbeat([&im] { im.HeartbeatLoop(); });

  std::exception_ptr failure;
  try {
    im.ControlLoop();
  } catch (...) {
    failure = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> lock(im.mu);
    im.polling_done = true;
    if (im.busy > 0) spdlog::info("ironflow worker {}: stopping after {} in-flight job(s)", im.opts.worker_id, im.busy);
  }
  im.cv.notify_all();
  for (auto& t : executors) t.join();
  {
    std::lock_guard<std::mutex> lock(im.mu);
    im.executors_done = true;
  }
  im.cv.notify_all();
  heartbeat.join();
  im.watcher_exit.store(true);
  im.stop_pipe.Notify();
  watcher.join();
  im.watcher_exit.store(false);
  im.stop_pipe.Drain();
  {
    std::lock_guard<std::mutex> lock(im.mu);
    im.running = false;
    im.stop_flag.store(false);
  }
  spdlog::info("ironflow worker {}: stopped", im.opts.worker_id);
  if (failure) std::rethrow_exception(failure);
}

void Worker::stop() {
  // Async-signal-safe: an atomic store and a write(2).
  impl_->stop_flag.store(true);
  impl_->stop_pipe.Notify();
}

const std::string& Worker::id() const { return impl_->opts.worker_id; }

}  // namespace ironflow
