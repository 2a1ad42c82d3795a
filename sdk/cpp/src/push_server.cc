#include "ironflow/push_server.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>

#include "common/bounded_json.h"
#include "http/http_server.h"
#include "job_runner.h"
#include "signature_internal.h"
#include "stop_pipe.h"
#include "store_access.h"

namespace ironflow {

using nlohmann::json;

namespace {

constexpr int64_t kSignatureToleranceSeconds = 300;

HttpResponse JsonError(int status, std::string_view code, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = json{{"error", {{"code", code}, {"message", message}}}}.dump();
  return r;
}

int64_t NowUnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

struct PushServer::Impl {
  PushServerOptions opts;
  detail::SigningKey key;
  std::map<std::string, Function> functions;    // fixed once serving starts
  std::shared_ptr<detail::StoreAccess> stores;  // behind ctx.config and ctx.kv(); null without server_url

  std::mutex mu;
  std::unique_ptr<HttpServer> server;  // guarded by mu
  bool started = false;                // guarded by mu
  std::atomic<bool> stop_flag{false};  // stop(): set, then a byte through stop_pipe (async-signal-safe)
  detail::StopPipe stop_pipe;

  HttpResponse Handle(const HttpRequest& req) {
    if (req.path != opts.path)
      return JsonError(404, "not_found", "no such path; Ironflow jobs are POSTed to " + opts.path);
    if (req.method != "POST") {
      HttpResponse r = JsonError(405, "invalid_argument", "use POST");
      r.headers.emplace_back("Allow", "POST");
      return r;
    }
    // Nothing of the body is looked at before the signature is checked.
    auto header = req.header("x-ironflow-signature");
    if (!header) {
      spdlog::warn("ironflow push: rejected a request from {} without X-Ironflow-Signature", req.remote_address);
      return JsonError(401, "unauthenticated", "missing X-Ironflow-Signature header");
    }
    if (!detail::Verify(key, *header, req.body, NowUnixSeconds(), kSignatureToleranceSeconds)) {
      spdlog::warn("ironflow push: rejected a request from {} with an invalid or expired signature",
                   req.remote_address);
      return JsonError(401, "unauthenticated",
                       "invalid or expired X-Ironflow-Signature (check the signing key and the clock)");
    }
    json job = ParseBoundedJson(req.body);
    if (!job.is_object()) return JsonError(400, "invalid_argument", "request body must be a JSON object");
    auto fid = job.find("function_id");
    if (fid == job.end() || !fid->is_string()) {
      detail::WipeJobSecrets(job);
      return JsonError(400, "invalid_argument", "field \"function_id\" is required");
    }
    const std::string function_id = *fid;
    auto fn = functions.find(function_id);
    if (fn == functions.end()) {
      detail::WipeJobSecrets(job);
      return JsonError(404, "not_found", "function \"" + function_id + "\" is not served here");
    }
    std::string run_id = job.value("run_id", std::string());
    int attempt = job.contains("attempt") && job["attempt"].is_number_integer() ? job["attempt"].get<int>() : 0;
    json result = detail::RunJob(fn->second, job, stores);
    const bool completed = result.value("status", "") == "completed";
    const bool retryable = !completed && result["error"].value("retryable", true);
    spdlog::info("ironflow push: run {} function={} attempt={} {}", run_id, function_id, attempt,
                 completed   ? "completed"
                 : retryable ? "failed (retryable)"
                             : "failed (not retryable)");
    HttpResponse r;
    r.status = 200;
    r.body = result.dump();  // the HTTP server wipes it once written
    return r;
  }

  void Shutdown() {
    std::unique_ptr<HttpServer> s;
    {
      std::lock_guard<std::mutex> lock(mu);
      s = std::move(server);
    }
    if (s) {
      s->Stop();
      spdlog::info("ironflow push: stopped");
    }
  }
};

PushServer::PushServer(PushServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->key = detail::SigningKey::FromHex(options.signing_key_hex);
  OPENSSL_cleanse(options.signing_key_hex.data(), options.signing_key_hex.size());
  options.signing_key_hex.clear();
  if (options.path.empty() || options.path.front() != '/') throw std::invalid_argument("path must start with '/'");
  if (options.port < 0 || options.port > 65535) throw std::invalid_argument("port must be 0-65535");
  if (options.threads < 1) throw std::invalid_argument("threads must be at least 1");
  if (!options.server_url.empty()) {
    impl_->stores = std::make_shared<detail::StoreAccess>(options.server_url, options.api_key, 30000, options.ca_file);
    OPENSSL_cleanse(options.api_key.data(), options.api_key.size());
    options.api_key.clear();
  }
  impl_->opts = std::move(options);
}

PushServer::~PushServer() { impl_->Shutdown(); }

void PushServer::add(const Function& function) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->started) throw Error("PushServer::add called after start(); add functions first");
  if (!function.handler) throw std::invalid_argument("function \"" + function.config.id + "\" has no handler");
  if (!impl_->functions.emplace(function.config.id, function).second) {
    throw std::invalid_argument("function \"" + function.config.id + "\" added twice");
  }
}

void PushServer::start() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->started) throw Error("PushServer already started");
  HttpServer::Options o;
  o.host = impl_->opts.host;
  o.port = impl_->opts.port;
  o.threads = impl_->opts.threads;
  o.max_body_bytes = impl_->opts.max_body_bytes;
  o.tls_cert_file = impl_->opts.tls_cert_file;
  o.tls_key_file = impl_->opts.tls_key_file;
  Impl* impl = impl_.get();
  auto server = std::make_unique<HttpServer>(o, [impl](const HttpRequest& req) { return impl->Handle(req); });
  Status st = server->Start();
  if (!st.ok()) throw Error("ironflow push: " + st.message());
  impl_->server = std::move(server);
  impl_->started = true;
  spdlog::info("ironflow push: serving {} function(s) on {}://{}:{}{}", impl_->functions.size(),
               impl_->opts.tls_cert_file.empty() ? "http" : "https", impl_->opts.host, impl_->server->port(),
               impl_->opts.path);
}

int PushServer::port() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->server ? impl_->server->port() : 0;
}

void PushServer::run() {
  if (impl_->stop_flag.exchange(false)) {  // stop() came first (stop a server start() began)
    impl_->stop_pipe.Drain();
    impl_->Shutdown();
    return;
  }
  bool need_start;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    need_start = !impl_->started;
  }
  if (need_start) start();
  while (!impl_->stop_flag.load()) impl_->stop_pipe.Wait(-1);
  impl_->stop_flag.store(false);
  impl_->Shutdown();
}

void PushServer::stop() {
  // Async-signal-safe: an atomic store and a write(2).
  impl_->stop_flag.store(true);
  impl_->stop_pipe.Notify();
}

}  // namespace ironflow
