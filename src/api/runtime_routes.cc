// The runtime plane's routes: events, functions, runs, pull-mode workers and the signing key. All are
// environment-scoped by X-Ironflow-Environment except the signing key.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <set>

#include "api/api_util.h"
#include "api/job_result_body.h"
#include "api/routes.h"
#include "auth/allow_list.h"
#include "common/hex.h"
#include "common/names.h"
#include "common/time_util.h"
#include "runtime/function_def.h"

namespace ironflow::server {
namespace {

using api::json;

constexpr size_t kMaxEventDataBytes = 512 * 1024;

// Whether a secret of the function's environment is set (an error: it could not be read, which is not "unset").
using IsSet = std::function<Result<bool>(const std::string& name)>;

// One read per name: for a single function, whose few declared secrets cost less than listing the environment.
IsSet ReadEach(SecretStore& secrets, const std::string& env) {
  return [&secrets, env](const std::string& name) -> Result<bool> {
    auto m = secrets.Get(env, name);
    if (m.ok()) return true;
    // A record that fails its integrity check reads as not set, as in the environment's listing (ListOnce).
    if (m.status().is(Code::kNotFound) || m.status().is(Code::kInternal)) return false;
    return m.status();
  };
}

// One listing of the environment for many functions (not a read per function and declared name).
Result<IsSet> ListOnce(SecretStore& secrets, const std::string& env) {
  IF_ASSIGN_OR_RETURN(auto all, secrets.List(env));
  auto names = std::make_shared<std::set<std::string>>();
  for (const auto& m : all) names->insert(m.name);
  return IsSet([names](const std::string& name) -> Result<bool> { return names->count(name) > 0; });
}

// The function's document with "set" for each declared secret. A secret that cannot be read fails the call, or
// with `unknown_as_null` (the answer to a registration that was stored) shows "set": null.
Result<json> FunctionJson(const FunctionDef& f, const IsSet& is_set, bool unknown_as_null = false) {
  json doc = json::parse(EncodeFunctionDef(f));
  json declared = json::array();
  for (const auto& name : f.secrets) {
    auto set = is_set(name);
    if (!set.ok() && !unknown_as_null) return set.status();
    declared.push_back({{"name", name}, {"set", set.ok() ? json(*set) : json(nullptr)}});
  }
  doc["secrets"] = declared;
  return doc;
}

json RunJson(const RunRecord& r) { return json::parse(PublicRunJson(r)); }

// 204 when there is no job; else {"jobs":[...]}, assembled by hand: the job texts carry values and are wiped here.
HttpResponse JobsResponse(std::vector<std::string>& jobs) {
  HttpResponse r;
  if (jobs.empty()) {
    r.status = 204;
    return r;
  }
  r.body = "{\"jobs\":[";
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (i) r.body += ",";
    r.body += jobs[i];
    Cleanse(jobs[i]);
  }
  r.body += "]}";
  return r;
}

Result<int64_t> IntParam(const HttpRequest& req, const char* name, int64_t def, int64_t lo, int64_t hi) {
  auto v = req.query_param(name);
  if (!v) return def;
  if (v->empty() || v->size() > 12) return Status::InvalidArgument(std::string(name) + " must be an integer");
  int64_t n = 0;
  for (char c : *v) {
    if (c < '0' || c > '9') return Status::InvalidArgument(std::string(name) + " must be an integer");
    n = n * 10 + (c - '0');
  }
  if (n < lo || n > hi)
    return Status::InvalidArgument(std::string(name) + " must be between " + std::to_string(lo) + " and " +
                                   std::to_string(hi));
  return n;
}

// An optional integer body field in [lo, hi] (`def` when absent).
Result<int64_t> OptionalInt(const json& body, const char* name, int64_t def, int64_t lo, int64_t hi) {
  if (!body.contains(name)) return def;
  const json& v = body[name];
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    return Status::InvalidArgument(std::string(name) + " must be an integer between " + std::to_string(lo) + " and " +
                                   std::to_string(hi));
  }
  return v.get<int64_t>();
}

}  // namespace

void AddRuntimeRoutes(Router& router, ApiContext& ctx, Engine& engine, FunctionRegistry& functions, RunStore& runs,
                      SigningKeyring& signing) {
  // ---- events
  router.AddIdempotent("POST", "/api/v1/events", Access::kEmit, [&ctx, &engine](const ApiCall& call) {
    auto env = RequestEnvironment(ctx, call.request);
    if (!env.ok()) return api::ErrorResponse(env.status());
    auto body = api::ParseJsonObject(call.request.body, {"name", "data", "metadata"});
    if (!body.ok()) return api::ErrorResponse(body.status());
    auto name = api::RequiredString(*body, "name");
    if (!name.ok()) return api::ErrorResponse(name.status());
    if (Status s = ValidateEventName(*name); !s.ok()) return api::ErrorResponse(s);
    if (name->rfind("system.", 0) == 0 || *name == "system") {
      return api::ErrorResponse(
          Status::InvalidArgument("event names starting with \"system.\" are reserved for Ironflow"));
    }
    if (!body->contains("data")) return api::ErrorResponse(Status::InvalidArgument("missing required field \"data\""));
    std::string data = (*body)["data"].dump();
    if (data.size() > kMaxEventDataBytes) {
      return api::ErrorResponse(Status::PayloadTooLarge("event data exceeds 512 KiB"));
    }
    std::string metadata = "{}";
    if (body->contains("metadata")) {
      if (!(*body)["metadata"].is_object())
        return api::ErrorResponse(Status::InvalidArgument("field \"metadata\" must be an object"));
      metadata = (*body)["metadata"].dump();
    }
    auto emitted = engine.Emit(*env, *name, data, metadata, call.actor.request);
    if (!emitted.ok()) return api::ErrorResponse(emitted.status());
    return api::JsonResponse(202, json{{"event_id", emitted->event.id}, {"run_ids", emitted->run_ids}});
  });

  // ---- functions
  router.Add("POST", "/api/v1/functions", Access::kRegister, [&ctx, &functions](const ApiCall& call) {
    auto env = RequestEnvironment(ctx, call.request);
    if (!env.ok()) return api::ErrorResponse(env.status());
    auto def = ParseFunctionRegistration(call.request.body);
    if (!def.ok()) return api::ErrorResponse(def.status());
    def->environment = *env;
    // A key registers only what its allow-lists cover, so re-registering can never widen a function beyond it.
    if (Status s = CheckActorCovers(call.actor, def->id, def->secrets); !s.ok()) return api::ErrorResponse(s);
    auto created = functions.Register(*def);
    if (!created.ok()) return api::ErrorResponse(created.status());
    auto stored = functions.Get(*env, def->id);
    if (!stored.ok()) return api::ErrorResponse(stored.status());
    spdlog::info("function {}: environment={} id={} mode={} actor={}", *created ? "registered" : "re-registered", *env,
                 def->id, DeliveryModeName(def->mode), call.actor.name);
    return api::JsonResponse(*created ? 201 : 200, *FunctionJson(*stored, ReadEach(ctx.secrets, *env), true));
  });
  router.Add("GET", "/api/v1/functions", Access::kRead, [&ctx, &functions](const ApiCall& call) {
    auto env = RequestEnvironment(ctx, call.request);
    if (!env.ok()) return api::ErrorResponse(env.status());
    auto list = functions.List(*env);
    if (!list.ok()) return api::ErrorResponse(list.status());
    const bool any_declared =
        std::any_of(list->begin(), list->end(), [](const FunctionDef& f) { return !f.secrets.empty(); });
    auto is_set = any_declared ? ListOnce(ctx.secrets, *env) : Result<IsSet>(IsSet());
    if (!is_set.ok()) return api::ErrorResponse(is_set.status());
    json arr = json::array();
    for (const auto& f : *list) {
      auto doc = FunctionJson(f, *is_set);
      if (!doc.ok()) return api::ErrorResponse(doc.status());
      arr.push_back(std::move(doc).value());
    }
    return api::JsonResponse(200, json{{"functions", arr}});
  });
  router.Add("GET", "/api/v1/functions/{id}", Access::kRead, [&ctx, &functions](const ApiCall& call) {
    auto env = RequestEnvironment(ctx, call.request);
    if (!env.ok()) return api::ErrorResponse(env.status());
    if (Status s = ValidateFunctionId(call.params[0]); !s.ok()) return api::ErrorResponse(s);
    auto f = functions.Get(*env, call.params[0]);
    if (!f.ok()) return api::ErrorResponse(f.status());
    auto doc = FunctionJson(*f, ReadEach(ctx.secrets, *env));
    if (!doc.ok()) return api::ErrorResponse(doc.status());
    return api::JsonResponse(200, *doc);
  });

  // ---- runs
  router.Add("GET", "/api/v1/runs", Access::kRead, [&ctx, &runs](const ApiCall& call) {
    auto env = RequestEnvironment(ctx, call.request);
    if (!env.ok()) return api::ErrorResponse(env.status());
    auto limit = IntParam(call.request, "limit", 50, 1, 1000);
    if (!limit.ok()) return api::ErrorResponse(limit.status());
    std::string fn = call.request.query_param("function_id").value_or("");
    const std::string status_name = call.request.query_param("status").value_or("");
    std::optional<RunStatus> status;
    if (!status_name.empty()) {
      status = ParseRunStatus(status_name);
      if (!status) {
        return api::ErrorResponse(Status::InvalidArgument("status must be queued, running, completed or failed"));
      }
    }
    auto list = runs.List(*env, fn, status, static_cast<size_t>(*limit));
    if (!list.ok()) return api::ErrorResponse(list.status());
    json arr = json::array();
    for (const auto& r : *list) arr.push_back(RunJson(r));
    return api::JsonResponse(200, json{{"runs", arr}});
  });
  router.Add("GET", "/api/v1/runs/{id}", Access::kRead, [&ctx, &runs](const ApiCall& call) {
    auto env = RequestEnvironment(ctx, call.request);
    if (!env.ok()) return api::ErrorResponse(env.status());
    const std::string& id = call.params[0];
    if (id.size() > 64 || id.rfind("run_", 0) != 0 || id.find('.') != std::string::npos ||
        id.find('*') != std::string::npos || id.find('>') != std::string::npos) {
      return api::ErrorResponse(Status::NotFound("run \"" + id.substr(0, 64) + "\" not found"));
    }
    auto r = runs.Get(*env, id);
    if (!r.ok()) return api::ErrorResponse(r.status());
    return api::JsonResponse(200, RunJson(*r));
  });

  // ---- pull-mode workers
  router.Add("POST", "/api/v1/workers/{worker_id}/register", Access::kWorker, [&ctx, &engine](const ApiCall& call) {
    auto env = RequestEnvironment(ctx, call.request);
    if (!env.ok()) return api::ErrorResponse(env.status());
    if (Status s = ValidateWorkerId(call.params[0]); !s.ok()) return api::ErrorResponse(s);
    auto body = api::ParseJsonObject(call.request.body, {"function_ids", "max_concurrent_jobs", "lease_ms"});
    if (!body.ok()) return api::ErrorResponse(body.status());
    WorkerInfo w;
    w.worker_id = call.params[0];
    if (!body->contains("function_ids") || !(*body)["function_ids"].is_array() || (*body)["function_ids"].empty() ||
        (*body)["function_ids"].size() > 256) {
      return api::ErrorResponse(
          Status::InvalidArgument("field \"function_ids\" must be an array of 1-256 function ids"));
    }
    for (const auto& f : (*body)["function_ids"]) {
      if (!f.is_string())
        return api::ErrorResponse(Status::InvalidArgument("field \"function_ids\" must contain strings"));
      if (Status s = ValidateFunctionId(f.get<std::string>()); !s.ok()) return api::ErrorResponse(s);
      if (Status s = CheckActorCovers(call.actor, f.get<std::string>(), {}); !s.ok()) return api::ErrorResponse(s);
      w.function_ids.push_back(f);
    }
    if (body->contains("max_concurrent_jobs")) {
      const json& m = (*body)["max_concurrent_jobs"];
      if (!m.is_number_integer() || m < 1 || m > 1000)
        return api::ErrorResponse(Status::InvalidArgument("field \"max_concurrent_jobs\" must be an integer 1-1000"));
      w.max_concurrent_jobs = m;
    }
    if (body->contains("lease_ms")) {
      const json& l = (*body)["lease_ms"];
      if (!l.is_number_integer() || l < 500 || l > 3600000)
        return api::ErrorResponse(Status::InvalidArgument("field \"lease_ms\" must be an integer 500-3600000"));
      w.lease_ms = l;
    }
    Status st = engine.RegisterWorker(*env, w);
    if (!st.ok()) return api::ErrorResponse(st);
    return api::JsonResponse(200, json{{"worker_id", w.worker_id},
                                       {"function_ids", w.function_ids},
                                       {"max_concurrent_jobs", w.max_concurrent_jobs},
                                       {"lease_ms", w.lease_ms}});
  });
  router.Add("POST", "/api/v1/workers/{worker_id}/heartbeat", Access::kWorker, [&ctx, &engine](const ApiCall& call) {
    auto env = RequestEnvironment(ctx, call.request);
    if (!env.ok()) return api::ErrorResponse(env.status());
    if (Status s = ValidateWorkerId(call.params[0]); !s.ok()) return api::ErrorResponse(s);
    Status st = engine.Heartbeat(*env, call.params[0]);
    if (!st.ok()) return api::ErrorResponse(st);
    return api::JsonResponse(200, json{{"ok", true}});
  });
  router.Add("GET", "/api/v1/workers/{worker_id}/jobs", Access::kWorker, [&ctx, &engine](const ApiCall& call) {
    auto env = RequestEnvironment(ctx, call.request);
    if (!env.ok()) return api::ErrorResponse(env.status());
    if (Status s = ValidateWorkerId(call.params[0]); !s.ok()) return api::ErrorResponse(s);
    auto available = IntParam(call.request, "available", 1, 1, 100);
    if (!available.ok()) return api::ErrorResponse(available.status());
    auto wait = IntParam(call.request, "wait_ms", 0, 0, 30000);
    if (!wait.ok()) return api::ErrorResponse(wait.status());
    // One look now; if nothing is there, the connection waits for a job notification without holding a thread
    // (registered before the first look, so a job arriving in between is not missed).
    auto pending = std::make_shared<PendingResponse>();
    std::weak_ptr<PendingResponse> weak = pending;
    pending->keep_alive = engine.WatchReady(*env, call.params[0], [weak] {
      if (auto p = weak.lock()) p->Notify();
    });
    auto look = [&engine, env = *env, worker = call.params[0], n = static_cast<int>(*available),
                 actor = call.actor](bool last) -> std::optional<HttpResponse> {
      auto jobs = engine.PollJobs(env, worker, n, actor);
      if (!jobs.ok()) return api::ErrorResponse(jobs.status());
      if (jobs->empty() && !last) return std::nullopt;
      return JobsResponse(*jobs);
    };
    if (auto now = look(/*last=*/*wait == 0)) return std::move(*now);
    pending->deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(*wait);
    pending->poll = std::move(look);
    HttpResponse r;
    r.pending = std::move(pending);
    return r;
  });
  router.Add("PUT", "/api/v1/workers/{worker_id}/jobs/{job_id}", Access::kWorker, [&ctx, &engine](const ApiCall& call) {
    auto env = RequestEnvironment(ctx, call.request);
    if (!env.ok()) return api::ErrorResponse(env.status());
    if (Status s = ValidateWorkerId(call.params[0]); !s.ok()) return api::ErrorResponse(s);
    const std::string& job_id = call.params[1];
    if (job_id.size() > 64 || job_id.rfind("job_", 0) != 0 || job_id.find_first_of(".*> ") != std::string::npos) {
      return api::ErrorResponse(Status::NotFound("job not found"));
    }
    auto result = ParseJobResult(call.request.body, /*require_lease_token=*/true);
    if (!result.ok()) return api::ErrorResponse(result.status());
    Status st = engine.CompleteJob(*env, call.params[0], job_id, *result, call.request.body);
    if (!st.ok()) return api::ErrorResponse(st);
    return api::JsonResponse(200, json{{"ok", true}});
  });

  // ---- signing key (for configuring push-mode apps)
  // GET -> {signing_key, previous_valid_until?}: the key apps should verify with (the previous one, if any, still
  // signs until previous_valid_until).
  router.Add("GET", "/api/v1/signing-key", Access::kAdmin, [&signing](const ApiCall&) {
    auto keys = signing.keys();
    json body{{"signing_key", HexEncode(keys->current.data(), keys->current.size())}, {"fixed", signing.fixed()}};
    if (!keys->previous.empty() && keys->previous_until_ms > NowUnixMillis()) {
      body["previous_valid_until"] = FormatRfc3339(keys->previous_until_ms);
    }
    HttpResponse r = api::JsonResponse(200, body);
    api::WipeStrings(body);
    return r;
  });
  // POST /api/v1/signing-key/rotate {grace_seconds?} (default 86400, 0-2592000) -> the new key, once more.
  router.Add("POST", "/api/v1/signing-key/rotate", Access::kAdmin, [&ctx, &signing](const ApiCall& call) {
    auto body = api::ParseJsonObject(call.request.body.empty() ? "{}" : call.request.body, {"grace_seconds"});
    if (!body.ok()) return api::ErrorResponse(body.status());
    auto grace = OptionalInt(*body, "grace_seconds", 86400, 0, 30 * 86400);
    if (!grace.ok()) return api::ErrorResponse(grace.status());
    auto rotated = signing.Rotate(*grace * 1000, call.actor);
    if (!rotated.ok()) return api::ErrorResponse(rotated.status());
    json out{{"signing_key", std::string(rotated->current_hex.view())}};
    out["previous_valid_until"] =
        rotated->previous_until_ms > 0 ? json(FormatRfc3339(rotated->previous_until_ms)) : json(nullptr);
    HttpResponse r = api::JsonResponse(200, out);
    api::WipeStrings(out);
    return r;
  });
}

}  // namespace ironflow::server
