// FunctionRegistry: registered functions per environment, in KV bucket `ironflow-functions`, key
// `<environment>.<function_id>`. Registration is idempotent (re-registering replaces the definition and keeps
// created_at). Reads through a mirror decode each stored revision once. Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/function_def.h"
#include "store/kv_bucket.h"
#include "store/kv_mirror.h"
#include "store/revision_cache.h"

namespace ironflow::server {

inline constexpr const char* kFunctionsBucket = "ironflow-functions";

class FunctionRegistry {
 public:
  // With a mirror, reads (List, Get, TriggeredBy) come from memory kept current by a watch.
  explicit FunctionRegistry(KvBucket& bucket, KvMirror* mirror = nullptr) : bucket_(bucket), mirror_(mirror) {}

  // Returns true when the function is new in `def.environment`.
  Result<bool> Register(FunctionDef def);
  Result<FunctionDef> Get(const std::string& env, const std::string& id);
  Result<std::vector<FunctionDef>> List(const std::string& env);  // sorted by id
  // Functions of `env` with a trigger matching `event_name`.
  Result<std::vector<FunctionDef>> TriggeredBy(const std::string& env, const std::string& event_name);

 private:
  // The definition a mirror entry holds, decoded once per revision (every emit, poll and result reads one).
  Result<FunctionDef> Decoded(const KvEntry& entry);
  KvBucket& bucket_;
  KvMirror* mirror_;
  std::mutex decoded_mu_;
  RevisionCache<FunctionDef> decoded_;
};

}  // namespace ironflow::server
