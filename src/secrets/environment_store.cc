#include "secrets/environment_store.h"

#include "common/names.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "common/bounded_json.h"
#include "common/time_util.h"

namespace ironflow::server {

using nlohmann::json;

Status EnvironmentStore::EnsureDefault() {
  auto created = Insert(kDefaultEnvironment);
  if (created.ok() || created.status().is(Code::kAlreadyExists)) return Status::Ok();
  return created.status();
}

Result<Environment> EnvironmentStore::Create(const std::string& name, const Actor& actor) {
  IF_RETURN_IF_ERROR(ValidateEnvironmentName(name));
  auto env = Insert(name);
  if (!env.ok()) return env;
  IF_RETURN_IF_ERROR(events_.Changed("environment", name, "created", name, actor));
  return env;
}

Result<Environment> EnvironmentStore::Insert(const std::string& name) {
  Environment env{name, FormatRfc3339(NowUnixMillis())};
  json doc = {{"name", env.name}, {"created_at", env.created_at}};
  auto rev = bucket_.Create(name, doc.dump());
  if (rev.ok()) return env;
  if (rev.status().is(Code::kConflict)) return Status::AlreadyExists("environment \"" + name + "\" already exists");
  return rev.status();
}

Result<std::vector<Environment>> EnvironmentStore::List() {
  IF_ASSIGN_OR_RETURN(auto entries, bucket_.List(">"));
  std::vector<Environment> out;
  for (const auto& e : entries) {
    json doc = ParseBoundedJson(e.value);
    Environment env{e.key, ""};
    if (doc.is_object() && doc.contains("created_at") && doc["created_at"].is_string()) {
      env.created_at = doc["created_at"].get<std::string>();
    }
    out.push_back(std::move(env));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Status EnvironmentStore::CheckExists(const std::string& name) {
  if (exists_.Get(name)) return Status::Ok();
  IF_ASSIGN_OR_RETURN(auto got, bucket_.Get(name));
  if (!got.has_value()) {
    return Status::NotFound("environment \"" + name + "\" does not exist; create it with `ironflow env create " + name +
                            "` or POST /api/v1/environments");
  }
  exists_.Put(name, true);
  return Status::Ok();
}

Status EnvironmentStore::Delete(const std::string& name, bool force, const Actor& actor) {
  if (name == kDefaultEnvironment) return Status::Conflict("the default environment cannot be deleted");
  IF_ASSIGN_OR_RETURN(auto got, bucket_.Get(name));
  if (!got.has_value()) return Status::NotFound("environment \"" + name + "\" does not exist");

  IF_ASSIGN_OR_RETURN(auto secrets, secrets_.List(name));
  std::string held;
  if (!secrets.empty()) held = std::to_string(secrets.size()) + " secret(s)";
  for (const auto& c : contents_) {
    IF_ASSIGN_OR_RETURN(auto n, c.count(name));
    if (n > 0) held += (held.empty() ? "" : ", ") + std::to_string(n) + " " + c.what;
  }
  if (!held.empty() && !force) {
    return Status::Conflict("environment \"" + name + "\" holds " + held + "; delete them first or pass force=true");
  }
  exists_.Erase(name);  // stop new writes here before emptying it
  for (const auto& s : secrets) {
    Status st = secrets_.Delete(name, s.name, std::nullopt, actor);
    if (!st.ok() && !st.is(Code::kNotFound)) return st;
  }
  for (const auto& c : contents_) IF_RETURN_IF_ERROR(c.erase(name, actor));
  auto rev = bucket_.DeleteIfRevision(name, (got)->revision);
  exists_.Erase(name);
  if (!rev.ok() && !rev.status().is(Code::kConflict)) return rev.status();
  return events_.Changed("environment", name, "deleted", name, actor);
}

}  // namespace ironflow::server
