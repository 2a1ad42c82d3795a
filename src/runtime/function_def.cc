#include "runtime/function_def.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "common/bounded_json.h"
#include "common/json_nesting.h"
#include "common/names.h"

namespace ironflow::server {

using nlohmann::json;

int64_t RetryPolicy::DelayBefore(int next_attempt) const {
  double delay = static_cast<double>(initial_delay_ms) * std::pow(backoff_factor, std::max(0, next_attempt - 2));
  return static_cast<int64_t>(std::min(delay, static_cast<double>(max_delay_ms)));
}

bool FunctionDef::TriggeredBy(std::string_view event_name) const {
  for (const auto& t : triggers) {
    if (SubjectMatches(t, event_name)) return true;
  }
  return false;
}

Status ValidateFunctionId(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 128 && ((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= '0' && id[0] <= '9'));
  for (char c : id) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  if (!ok)
    return Status::InvalidArgument(
        "invalid function id: use 1-128 characters of a-z, 0-9, '_' and '-', starting with a letter or digit");
  return Status::Ok();
}

Status ValidateEventName(std::string_view name) {
  auto bad = [] {
    return Status::InvalidArgument(
        "invalid event name: use dot-separated tokens of A-Z, a-z, 0-9, '_' and '-' (at most 256 characters)");
  };
  if (name.empty() || name.size() > 256 || name.front() == '.' || name.back() == '.') return bad();
  char prev = 0;
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok || (c == '.' && prev == '.')) return bad();
    prev = c;
  }
  return Status::Ok();
}

namespace {

Status Field(const char* name, const char* rule) {
  return Status::InvalidArgument(std::string("field \"") + name + "\" " + rule);
}

json ToJson(const FunctionDef& f) {
  json triggers = json::array();
  for (const auto& t : f.triggers) triggers.push_back({{"event", t}});
  json out = {{"id", f.id},
              {"name", f.name},
              {"environment", f.environment},
              {"triggers", triggers},
              {"secrets", f.secrets},
              {"retry",
               {{"max_attempts", f.retry.max_attempts},
                {"initial_delay_ms", f.retry.initial_delay_ms},
                {"backoff_factor", f.retry.backoff_factor},
                {"max_delay_ms", f.retry.max_delay_ms}}},
              {"timeout_ms", f.timeout_ms},
              {"mode", DeliveryModeName(f.mode)},
              {"created_at", f.created_at},
              {"updated_at", f.updated_at}};
  out["url"] = f.url.empty() ? json(nullptr) : json(f.url);
  return out;
}

Result<FunctionDef> FromJson(const json& doc, bool registration) {
  FunctionDef f;
  static const std::set<std::string> kAllowed = {"id",    "name",       "triggers", "secrets",
                                                 "retry", "timeout_ms", "mode",     "url"};
  if (!doc.is_object()) return Status::InvalidArgument("request body must be a JSON object");
  if (registration) {
    for (const auto& item : doc.items()) {
      if (!kAllowed.count(item.key()))
        return Status::InvalidArgument("unknown field \"" + item.key().substr(0, 64) + "\"");
    }
  }
  if (!doc.contains("id") || !doc["id"].is_string()) return Field("id", "is required and must be a string");
  f.id = doc["id"];
  IF_RETURN_IF_ERROR(ValidateFunctionId(f.id));
  if (doc.contains("name") && !doc["name"].is_null()) {
    if (!doc["name"].is_string() || doc["name"].get<std::string>().size() > 256)
      return Field("name", "must be a string of at most 256 characters");
    f.name = doc["name"];
  }
  if (f.name.empty()) f.name = f.id;
  if (!doc.contains("triggers") || !doc["triggers"].is_array() || doc["triggers"].empty() ||
      doc["triggers"].size() > 32) {
    return Field("triggers", "must be an array of 1-32 {\"event\": pattern} objects");
  }
  for (const auto& t : doc["triggers"]) {
    if (!t.is_object() || !t.contains("event") || !t["event"].is_string() || t.size() != 1) {
      return Field("triggers", "entries must be {\"event\": pattern}");
    }
    std::string pattern = t["event"];
    if (pattern.size() > 256) return Field("triggers", "patterns must be at most 256 characters");
    IF_RETURN_IF_ERROR(ValidateSubjectPattern(pattern));
    f.triggers.push_back(pattern);
  }
  if (doc.contains("secrets")) {
    if (!doc["secrets"].is_array() || doc["secrets"].size() > 100)
      return Field("secrets", "must be an array of at most 100 names");
    std::set<std::string> seen;
    for (const auto& s : doc["secrets"]) {
      if (!s.is_string()) return Field("secrets", "must contain strings");
      IF_RETURN_IF_ERROR(ValidateSecretName(s.get<std::string>()));
      if (seen.insert(s.get<std::string>()).second) f.secrets.push_back(s);
    }
  }
  if (doc.contains("retry") && !doc["retry"].is_null()) {
    const json& r = doc["retry"];
    if (!r.is_object()) return Field("retry", "must be an object");
    for (const auto& item : r.items()) {
      if (item.key() != "max_attempts" && item.key() != "initial_delay_ms" && item.key() != "backoff_factor" &&
          item.key() != "max_delay_ms") {
        return Status::InvalidArgument("unknown field \"retry." + item.key().substr(0, 64) + "\"");
      }
    }
    if (r.contains("max_attempts")) {
      if (!r["max_attempts"].is_number_integer() || r["max_attempts"] < 1 || r["max_attempts"] > 100)
        return Field("retry.max_attempts", "must be an integer 1-100");
      f.retry.max_attempts = r["max_attempts"];
    }
    if (r.contains("initial_delay_ms")) {
      if (!r["initial_delay_ms"].is_number_integer() || r["initial_delay_ms"] < 0 || r["initial_delay_ms"] > 86400000)
        return Field("retry.initial_delay_ms", "must be an integer 0-86400000");
      f.retry.initial_delay_ms = r["initial_delay_ms"];
    }
    if (r.contains("backoff_factor")) {
      if (!r["backoff_factor"].is_number() || r["backoff_factor"] < 1.0 || r["backoff_factor"] > 10.0)
        return Field("retry.backoff_factor", "must be a number 1-10");
      f.retry.backoff_factor = r["backoff_factor"];
    }
    if (r.contains("max_delay_ms")) {
      if (!r["max_delay_ms"].is_number_integer() || r["max_delay_ms"] < 0 || r["max_delay_ms"] > 86400000)
        return Field("retry.max_delay_ms", "must be an integer 0-86400000");
      f.retry.max_delay_ms = r["max_delay_ms"];
    }
  }
  if (doc.contains("timeout_ms") && !doc["timeout_ms"].is_null()) {
    if (!doc["timeout_ms"].is_number_integer() || doc["timeout_ms"] < 100 || doc["timeout_ms"] > 3600000)
      return Field("timeout_ms", "must be an integer 100-3600000");
    f.timeout_ms = doc["timeout_ms"];
  }
  const auto mode = doc.contains("mode") && doc["mode"].is_string()
                        ? ParseDeliveryMode(doc["mode"].get_ref<const std::string&>())
                        : std::nullopt;
  if (!mode) return Field("mode", "must be \"push\" or \"pull\"");
  f.mode = *mode;
  if (doc.contains("url") && !doc["url"].is_null()) {
    if (!doc["url"].is_string()) return Field("url", "must be a string");
    f.url = doc["url"];
  }
  if (f.mode == DeliveryMode::kPush) {
    if ((f.url.rfind("http://", 0) != 0 && f.url.rfind("https://", 0) != 0) || f.url.size() > 2048) {
      return Field("url", "is required in push mode and must be an http:// or https:// URL");
    }
  } else if (!f.url.empty()) {
    return Field("url", "is only used in push mode");
  }
  if (!registration) {
    f.environment = doc.value("environment", "");
    f.created_at = doc.value("created_at", "");
    f.updated_at = doc.value("updated_at", "");
  }
  return f;
}

}  // namespace

Result<FunctionDef> ParseFunctionRegistration(std::string_view body) {
  IF_RETURN_IF_ERROR(CheckJsonNesting(body, "request body"));
  json doc = ParseBoundedJson(body);
  if (doc.is_discarded()) return Status::InvalidArgument("request body is not valid JSON");
  return FromJson(doc, true);
}

std::string EncodeFunctionDef(const FunctionDef& f) { return ToJson(f).dump(); }

Result<FunctionDef> DecodeFunctionDef(std::string_view text) {
  json doc = ParseBoundedJson(text);
  if (doc.is_discarded()) return Status::Internal("stored function definition is malformed");
  return FromJson(doc, false);
}

}  // namespace ironflow::server
