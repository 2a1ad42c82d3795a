#include "api/job_result_body.h"

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "common/bounded_json.h"
#include "common/json_nesting.h"

namespace ironflow::server {

using nlohmann::json;

Result<JobResult> ParseJobResult(std::string_view body, bool require_lease_token) {
  IF_RETURN_IF_ERROR(CheckJsonNesting(body, "result"));
  json doc = ParseBoundedJson(body);
  if (!doc.is_object()) return Status::InvalidArgument("result must be a JSON object");
  static const std::set<std::string> kAllowed = {"lease_token", "status", "output", "error", "steps"};
  for (const auto& item : doc.items()) {
    if (!kAllowed.count(item.key()))
      return Status::InvalidArgument("unknown field \"" + item.key().substr(0, 64) + "\"");
  }
  if (require_lease_token && (!doc.contains("lease_token") || !doc["lease_token"].is_string())) {
    return Status::InvalidArgument("field \"lease_token\" is required");
  }
  if (!doc.contains("status") || !doc["status"].is_string() ||
      (doc["status"] != "completed" && doc["status"] != "failed")) {
    return Status::InvalidArgument("field \"status\" must be \"completed\" or \"failed\"");
  }
  JobResult out;
  out.completed = doc["status"] == "completed";
  if (doc.contains("lease_token") && doc["lease_token"].is_string()) out.lease_token = doc["lease_token"];
  if (doc.contains("output")) out.output_json = doc["output"].dump();
  if (doc.contains("error") && !doc["error"].is_null()) {
    const json& e = doc["error"];
    if (!e.is_object() || !e.contains("message") || !e["message"].is_string()) {
      return Status::InvalidArgument("field \"error\" must be {\"message\": string, \"retryable\": bool}");
    }
    if (e.contains("retryable") && !e["retryable"].is_boolean())
      return Status::InvalidArgument("field \"error.retryable\" must be a boolean");
    out.error = e["message"];
    out.retryable = e.value("retryable", true);
  } else if (!out.completed) {
    out.error = "function failed";
  }
  if (doc.contains("steps") && !doc["steps"].is_null()) {
    if (!doc["steps"].is_array()) return Status::InvalidArgument("field \"steps\" must be an array");
    for (const auto& s : doc["steps"]) {
      if (!s.is_object() || !s.contains("id") || !s["id"].is_string() || s["id"].get<std::string>().empty()) {
        return Status::InvalidArgument("each step must be {\"id\": string, \"output\": any}");
      }
      out.steps.push_back({s["id"], s.contains("output") ? s["output"].dump() : "null"});
    }
  }
  return out;
}

}  // namespace ironflow::server
