// EnvironmentStore: the set of environments, in KV bucket `ironflow-environments` (key = environment name,
// value {"name","created_at"}). `default` is created at first start. Environments are only ever created
// explicitly; deleting one that still holds secrets needs `force`, which deletes those secrets first (each with
// its own event) and everything other planes registered with AddContents (config documents, KV buckets).
// Creating and deleting one publish system.environment.{name}.{created|deleted} (SystemEvents): an environment
// change is acknowledged only once its audit event is stored. CheckExists remembers positive answers for 2 s, so a
// deletion made through another server process is seen here within 2 s. Thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/ttl_cache.h"
#include "secrets/secret_store.h"
#include "store/kv_bucket.h"

namespace ironflow::server {

inline constexpr const char* kEnvironmentsBucket = "ironflow-environments";
inline constexpr const char* kDefaultEnvironment = "default";

struct Environment {
  std::string name;
  std::string created_at;
};

// Data another plane keeps per environment: how many items an environment holds, and how to delete them all.
struct EnvironmentContents {
  std::string what;  // plural noun for messages: "config document(s)"
  std::function<Result<size_t>(const std::string& env)> count;
  std::function<Status(const std::string& env, const Actor& actor)> erase;
};

class EnvironmentStore {
 public:
  EnvironmentStore(KvBucket& bucket, SecretStore& secrets, SystemEvents& events)
      : bucket_(bucket), secrets_(secrets), events_(events), exists_(std::chrono::seconds(2)) {}

  Status EnsureDefault();
  // Registers another plane's per-environment data; call before serving.
  void AddContents(EnvironmentContents contents) { contents_.push_back(std::move(contents)); }
  // kInvalidArgument for a name that breaks the naming rules; kAlreadyExists when present; kUnavailable when the
  // audit event could not be stored (the environment exists then).
  Result<Environment> Create(const std::string& name, const Actor& actor);
  Result<std::vector<Environment>> List();  // sorted by name
  // OK if it exists; kNotFound (with how to create it) otherwise.
  Status CheckExists(const std::string& name);
  // kNotFound when absent; kConflict while it holds secrets unless `force`; `default` cannot be deleted;
  // kUnavailable when the audit event could not be stored (the environment is gone then).
  Status Delete(const std::string& name, bool force, const Actor& actor);

 private:
  Result<Environment> Insert(const std::string& name);

  KvBucket& bucket_;
  SecretStore& secrets_;
  SystemEvents& events_;
  TtlCache<bool> exists_;
  std::vector<EnvironmentContents> contents_;
};

}  // namespace ironflow::server
