#include "runtime/run_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/time_util.h"

namespace ironflow {

using nlohmann::json;

namespace {
json ParseOrNull(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}
}  // namespace

std::string EncodeRun(const RunRecord& r) {
  json steps = json::array();
  for (const auto& s : r.steps) steps.push_back({{"id", s.id}, {"status", s.status}, {"output", ParseOrNull(s.output_json)}});
  json doc = {{"id", r.id},
              {"function_id", r.function_id},
              {"environment", r.environment},
              {"event_id", r.event_id},
              {"event", {{"id", r.event_id}, {"name", r.event_name}, {"data", ParseOrNull(r.event_data_json)}, {"timestamp", r.event_timestamp}}},
              {"status", r.status},
              {"attempt", r.attempt},
              {"output", ParseOrNull(r.output_json)},
              {"error", r.error.empty() ? json(nullptr) : json(r.error)},
              {"steps", steps},
              {"created_at", r.created_at},
              {"updated_at", r.updated_at}};
  return doc.dump();
}

Result<RunRecord> DecodeRun(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) return Status::Internal("stored run record is malformed");
  try {
    RunRecord r;
    r.id = doc.at("id");
    r.function_id = doc.at("function_id");
    r.environment = doc.at("environment");
    r.event_id = doc.at("event_id");
    const json& ev = doc.at("event");
    r.event_name = ev.at("name");
    r.event_data_json = ev.at("data").dump();
    r.event_timestamp = ev.at("timestamp");
    r.status = doc.at("status");
    r.attempt = doc.at("attempt");
    r.output_json = doc.at("output").dump();
    r.error = doc.at("error").is_string() ? doc.at("error").get<std::string>() : "";
    for (const auto& s : doc.at("steps")) r.steps.push_back({s.at("id"), s.at("status"), s.at("output").dump()});
    r.created_at = doc.at("created_at");
    r.updated_at = doc.at("updated_at");
    return r;
  } catch (const json::exception&) {
    return Status::Internal("stored run record is malformed");
  }
}

Status RunStore::Create(const RunRecord& run) {
  auto rev = bucket_.Create(run.environment + "." + run.id, EncodeRun(run));
  return rev.ok() ? Status::Ok() : rev.status();
}

Result<RunRecord> RunStore::Get(const std::string& env, const std::string& run_id) {
  auto e = bucket_.Get(env + "." + run_id);
  if (!e.ok()) return e.status();
  if (!e->has_value()) return Status::NotFound("run \"" + run_id + "\" not found in environment \"" + env + "\"");
  return DecodeRun((*e)->value);
}

Result<RunRecord> RunStore::Mutate(const std::string& env, const std::string& run_id,
                                   const std::function<bool(RunRecord&)>& change) {
  const std::string key = env + "." + run_id;
  for (int attempt = 0; attempt < 64; ++attempt) {
    auto e = bucket_.Get(key);
    if (!e.ok()) return e.status();
    if (!e->has_value()) return Status::NotFound("run \"" + run_id + "\" not found");
    auto run = DecodeRun((*e)->value);
    if (!run.ok()) return run.status();
    if (!change(*run)) return run;
    run->updated_at = FormatRfc3339(NowUnixMillis());
    auto rev = bucket_.Update(key, EncodeRun(*run), (*e)->revision);
    if (rev.ok()) return run;
    if (!rev.status().is(Code::kConflict)) return rev.status();
  }
  return Status::Conflict("run \"" + run_id + "\" is being updated concurrently");
}

Result<std::vector<RunRecord>> RunStore::List(const std::string& env, const std::string& function_id,
                                              const std::string& status, size_t limit) {
  auto entries = bucket_.List(env + ".*");
  if (!entries.ok()) return entries.status();
  std::vector<RunRecord> out;
  for (const auto& e : *entries) {
    auto r = DecodeRun(e.value);
    if (!r.ok()) continue;
    if (!function_id.empty() && r->function_id != function_id) continue;
    if (!status.empty() && r->status != status) continue;
    out.push_back(std::move(r).value());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at : a.id > b.id;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace ironflow
