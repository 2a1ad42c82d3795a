// FunctionRegistry: registered functions per environment, in KV bucket `ironflow-functions`, key
// `<environment>.<function_id>`. Registration is idempotent (re-registering replaces the definition and keeps
// created_at). Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/function_def.h"
#include "store/kv_bucket.h"

namespace ironflow {

inline constexpr const char* kFunctionsBucket = "ironflow-functions";

class FunctionRegistry {
 public:
  explicit FunctionRegistry(KvBucket& bucket) : bucket_(bucket) {}

  // Returns true when the function is new in `def.environment`.
  Result<bool> Register(FunctionDef def);
  Result<FunctionDef> Get(const std::string& env, const std::string& id);
  Result<std::vector<FunctionDef>> List(const std::string& env);  // sorted by id
  // Functions of `env` with a trigger matching `event_name`.
  Result<std::vector<FunctionDef>> TriggeredBy(const std::string& env, const std::string& event_name);

 private:
  KvBucket& bucket_;
};

}  // namespace ironflow
