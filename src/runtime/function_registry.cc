#include "runtime/function_registry.h"

#include <algorithm>
#include <set>

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
    if (hit) return Decoded(*hit);
  }
  IF_ASSIGN_OR_RETURN(auto e, bucket_.Get(env + "." + id));
  if (!e.has_value()) return Status::NotFound("function \"" + id + "\" not found in environment \"" + env + "\"");
  return DecodeFunctionDef((e)->value);
}

Result<FunctionDef> FunctionRegistry::Decoded(const KvEntry& entry) {
  {
    std::lock_guard<std::mutex> lock(decoded_mu_);
    if (const FunctionDef* known = decoded_.Find(entry.key, entry.revision)) return *known;
  }
  IF_ASSIGN_OR_RETURN(auto def, DecodeFunctionDef(entry.value));
  std::lock_guard<std::mutex> lock(decoded_mu_);
  decoded_.Put(entry.key, entry.revision, def);
  return def;
}

Result<std::vector<FunctionDef>> FunctionRegistry::List(const std::string& env) {
  const std::string prefix = env + ".";
  std::vector<FunctionDef> out;
  if (mirror_) {
    std::vector<KvEntry> entries = mirror_->Snapshot(prefix);
    for (const auto& e : entries) {
      auto f = Decoded(e);
      if (f.ok()) out.push_back(std::move(f).value());
    }
    // Forget the decoded form of functions of `env` that are gone.
    std::lock_guard<std::mutex> lock(decoded_mu_);
    if (decoded_.size() > entries.size()) {
      std::set<std::string> live;
      for (const auto& e : entries) live.insert(e.key);
      decoded_.Retain(prefix, live);
    }
  } else {
    IF_ASSIGN_OR_RETURN(auto entries, bucket_.List(env + ".*"));
    for (const auto& e : entries) {
      auto f = DecodeFunctionDef(e.value);
      if (f.ok()) out.push_back(std::move(f).value());
    }
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
