#include "runtime/function_registry.h"

#include <algorithm>

#include "common/time_util.h"

namespace ironflow {

Result<bool> FunctionRegistry::Register(FunctionDef def) {
  const std::string key = def.environment + "." + def.id;
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto cur = bucket_.Get(key);
    if (!cur.ok()) return cur.status();
    def.updated_at = FormatRfc3339(NowUnixMillis());
    if (!cur->has_value()) {
      def.created_at = def.updated_at;
      auto rev = bucket_.Create(key, EncodeFunctionDef(def));
      if (rev.ok()) return true;
      if (!rev.status().is(Code::kConflict)) return rev.status();
      continue;
    }
    auto old = DecodeFunctionDef((*cur)->value);
    def.created_at = old.ok() ? old->created_at : def.updated_at;
    auto rev = bucket_.Update(key, EncodeFunctionDef(def), (*cur)->revision);
    if (rev.ok()) return false;
    if (!rev.status().is(Code::kConflict)) return rev.status();
  }
  return Status::Conflict("function \"" + def.id + "\" is being registered concurrently");
}

Result<FunctionDef> FunctionRegistry::Get(const std::string& env, const std::string& id) {
  auto e = bucket_.Get(env + "." + id);
  if (!e.ok()) return e.status();
  if (!e->has_value()) return Status::NotFound("function \"" + id + "\" not found in environment \"" + env + "\"");
  return DecodeFunctionDef((*e)->value);
}

Result<std::vector<FunctionDef>> FunctionRegistry::List(const std::string& env) {
  auto entries = bucket_.List(env + ".*");
  if (!entries.ok()) return entries.status();
  std::vector<FunctionDef> out;
  for (const auto& e : *entries) {
    auto f = DecodeFunctionDef(e.value);
    if (f.ok()) out.push_back(std::move(f).value());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Result<std::vector<FunctionDef>> FunctionRegistry::TriggeredBy(const std::string& env, const std::string& event_name) {
  auto all = List(env);
  if (!all.ok()) return all.status();
  std::vector<FunctionDef> out;
  for (auto& f : *all) {
    if (f.TriggeredBy(event_name)) out.push_back(std::move(f));
  }
  return out;
}

}  // namespace ironflow
