#include "runtime/function_registry.h"

#include <algorithm>

#include "common/time_util.h"

namespace ironflow::server {

Result<bool> FunctionRegistry::Register(FunctionDef def) {
  const std::string key = def.environment + "." + def.id;
  for (int attempt = 0; attempt < kCasRetryBudget; ++attempt) {
    IF_ASSIGN_OR_RETURN(auto cur, bucket_.Get(key));
    def.updated_at = FormatRfc3339(NowUnixMillis());
    if (!cur.has_value()) {
      def.created_at = def.updated_at;
      std::string value = EncodeFunctionDef(def);
      auto rev = bucket_.Create(key, value);
      if (rev.ok()) {
        if (mirror_) mirror_->Apply(KvEntry{key, value, *rev, 0}, false);
        return true;
      }
      if (!rev.status().is(Code::kConflict)) return rev.status();
      continue;
    }
    auto old = DecodeFunctionDef((cur)->value);
    def.created_at = old.ok() ? old->created_at : def.updated_at;
    std::string value = EncodeFunctionDef(def);
    auto rev = bucket_.Update(key, value, (cur)->revision);
    if (rev.ok()) {
      if (mirror_) mirror_->Apply(KvEntry{key, value, *rev, 0}, false);
      return false;
    }
    if (!rev.status().is(Code::kConflict)) return rev.status();
  }
  return Status::Conflict("function \"" + def.id + "\" is being registered concurrently");
}

Result<FunctionDef> FunctionRegistry::Get(const std::string& env, const std::string& id) {
  if (mirror_) {
    auto hit = mirror_->Get(env + "." + id);
    if (hit) return DecodeFunctionDef(hit->value);
  }
  IF_ASSIGN_OR_RETURN(auto e, bucket_.Get(env + "." + id));
  if (!e.has_value()) return Status::NotFound("function \"" + id + "\" not found in environment \"" + env + "\"");
  return DecodeFunctionDef((e)->value);
}

Result<std::vector<FunctionDef>> FunctionRegistry::List(const std::string& env) {
  Result<std::vector<KvEntry>> entries =
      mirror_ ? Result<std::vector<KvEntry>>(mirror_->Snapshot(env + ".")) : bucket_.List(env + ".*");
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
  IF_ASSIGN_OR_RETURN(auto all, List(env));
  std::vector<FunctionDef> out;
  for (auto& f : all) {
    if (f.TriggeredBy(event_name)) out.push_back(std::move(f));
  }
  return out;
}

}  // namespace ironflow::server
