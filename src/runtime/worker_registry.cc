#include "runtime/worker_registry.h"

#include "common/bounded_json.h"

#include <nlohmann/json.hpp>

namespace ironflow::server {

using nlohmann::json;

Status ValidateWorkerId(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 128;
  for (char c : id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (!ok) return Status::InvalidArgument("invalid worker id: use 1-128 characters of A-Z, a-z, 0-9, '_' and '-'");
  return Status::Ok();
}

Status WorkerRegistry::Register(const std::string& env, const WorkerInfo& w) {
  json doc = {
      {"worker_id", w.worker_id}, {"function_ids", w.function_ids},   {"max_concurrent_jobs", w.max_concurrent_jobs},
      {"lease_ms", w.lease_ms},   {"registered_at", w.registered_at}, {"last_seen", w.last_seen}};
  IF_RETURN_IF_ERROR(bucket_.Put(env + "." + w.worker_id, doc.dump()).status());
  cache_.Put(env + "." + w.worker_id, w);
  return Status::Ok();
}

Result<WorkerInfo> WorkerRegistry::Get(const std::string& env, const std::string& worker_id) {
  if (auto cached = cache_.Get(env + "." + worker_id)) return *cached;
  IF_ASSIGN_OR_RETURN(auto e, bucket_.Get(env + "." + worker_id));
  if (!e.has_value()) {
    return Status::NotFound("worker \"" + worker_id + "\" is not registered in environment \"" + env +
                            "\"; POST /api/v1/workers/" + worker_id + "/register first");
  }
  json d = ParseBoundedJson((e)->value);
  if (!d.is_object()) return Status::Internal("stored worker record is malformed");
  WorkerInfo w;
  w.worker_id = d.value("worker_id", worker_id);
  w.function_ids = d.value("function_ids", std::vector<std::string>{});
  w.max_concurrent_jobs = d.value("max_concurrent_jobs", 1);
  w.lease_ms = d.value("lease_ms", int64_t{30000});
  w.registered_at = d.value("registered_at", "");
  w.last_seen = d.value("last_seen", "");
  cache_.Put(env + "." + worker_id, w);
  return w;
}

}  // namespace ironflow::server
