// ConfigStore: environment-scoped, readable JSON documents (app settings, feature flags) in KV bucket
// `ironflow-config`, key `<environment>.<name>`, value = the document's compact JSON text (not encrypted: config
// is for what may be read back; secrets go to SecretStore).
//
// Contract: a document is a JSON object of at most kMaxConfigBytes serialized. Revisions are the KV revisions.
// Every write is conditional on what the caller saw or asked for, so nothing is lost to a concurrent writer:
// Put with a precondition fails with kPreconditionFailed and changes nothing; Patch (shallow merge) re-reads and
// retries on conflicts unless the caller pinned a revision. Each change publishes system.config.{name}.{updated|
// deleted} (metadata only). Callers validate environment and name. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/write_precondition.h"
#include "events/system_events.h"
#include "store/kv_bucket.h"
#include "store/kv_watch.h"

namespace ironflow::server {

inline constexpr const char* kConfigBucket = "ironflow-config";
inline constexpr size_t kMaxConfigBytes = 512 * 1024;

struct ConfigDocument {
  std::string name;
  std::string data;  // compact JSON object text
  uint64_t revision = 0;
  std::string updated_at;  // RFC 3339
};

class ConfigStore {
 public:
  ConfigStore(KvBucket& bucket, SystemEvents& events) : bucket_(bucket), events_(events) {}

  // Documents of the environment, sorted by name.
  Result<std::vector<ConfigDocument>> List(const std::string& env);
  // kNotFound when absent.
  Result<ConfigDocument> Get(const std::string& env, const std::string& name);
  // Replaces the document with `data` (JSON text; must be an object). Returns the stored document.
  Result<ConfigDocument> Put(const std::string& env, const std::string& name, const std::string& data,
                             const WritePrecondition& pre, const Actor& actor);
  // Shallow merge of the object `patch` into the document (creating it when absent): each top-level field
  // replaces the stored one; a null field removes it.
  Result<ConfigDocument> Patch(const std::string& env, const std::string& name, const std::string& patch,
                               std::optional<uint64_t> if_revision, const Actor& actor);
  // Idempotent: OK when already absent, unless `if_revision` is given (then kPreconditionFailed).
  Status Delete(const std::string& env, const std::string& name, std::optional<uint64_t> if_revision,
                const Actor& actor);
  // Names of the environment's documents (used to empty an environment).
  Result<std::vector<std::string>> Names(const std::string& env);

  // One change of a watched document: its current state first (`replay`; only when it exists), then every
  // update or delete in order.
  struct Change {
    ConfigDocument document;  // data empty when `deleted`
    bool deleted = false;
    bool replay = false;
  };
  // Follows document `name` of `env` until the returned watch is destroyed; `on_change` runs on the watch's
  // thread and must not block.
  Result<std::unique_ptr<KvWatch>> Watch(const std::string& env, const std::string& name,
                                         std::function<void(const Change&)> on_change);

 private:
  Result<ConfigDocument> Written(const std::string& env, const std::string& name, std::string data,
                                 Result<uint64_t> revision, const Actor& actor);
  Status RequireLive(const std::string& key, const std::string& name, uint64_t revision);
  // For a retried request (actor.request.retry): if an earlier attempt of it made the key's latest write, that
  // write (a document, or a delete marker with `*deleted`), with its audit event sent again (stored once).
  // nullopt: write as usual.
  std::optional<Result<ConfigDocument>> EarlierAttempt(const std::string& env, const std::string& name,
                                                       const Actor& actor, bool* deleted);
  KvBucket& bucket_;
  SystemEvents& events_;
};

}  // namespace ironflow::server
