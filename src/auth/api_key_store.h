// ApiKeyStore: API keys for the HTTP API, in KV bucket `ironflow-auth`.
//
// A key is "ifkey_" + 32 lowercase hex chars (128 random bits). Only its SHA-256 is stored, under
// `apikeys.<sha256 hex>` with {"id","name","hash","created_at"}; the stored hash is compared to the
// presented key's hash in constant time. On first start EnsureBootstrapKey creates one admin key and writes
// it once to `<data-dir>/bootstrap_key` (mode 0600). Successful authentications are remembered for 2 s
// (keyed by the key's hash), so a key removed through another server stops working within 2 s.
//
// Every key has a role (admin, manager, reader, worker; see auth/access_policy.h), an environment it is bound to
// (all roles but admin), and an optional expiry. Keys are managed by id: `ids.<id>` points at the current hash,
// so rotation replaces the secret part and keeps the id, role and binding. Records written before roles existed
// (the bootstrap key) are admin keys. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/ttl_cache.h"
#include "events/system_events.h"
#include "store/kv_bucket.h"

namespace ironflow::server {

inline constexpr const char* kAuthBucket = "ironflow-auth";

struct Principal {
  std::string id;    // public id of the key
  std::string name;  // e.g. "bootstrap-admin"
  Role role = Role::kAdmin;
  std::string environment;    // empty: all environments (admin)
  int64_t expires_at_ms = 0;  // 0: never
  // Worker and manager keys: function ids / secret names the key may register, serve and receive (patterns,
  // auth/allow_list.h). Empty for admin and reader keys. A worker or manager key created before the lists existed
  // has ["*"] in both and `legacy_scope` set (listed as such so operators can narrow it by re-creating it).
  std::vector<std::string> functions;
  std::vector<std::string> secrets;
  bool legacy_scope = false;
};

// What a new key is: Create() validates every field.
struct ApiKeySpec {
  std::string name;
  Role role = Role::kNone;         // kNone is refused
  std::string environment;         // required for all roles but admin
  int64_t expires_in_seconds = 0;  // 0: never
  // Required for worker keys (["*"] allows all, explicitly); optional for manager keys (absent: ["*"]); refused
  // for admin and reader keys.
  std::optional<std::vector<std::string>> functions;
  std::optional<std::vector<std::string>> secrets;
};

struct ApiKeyInfo {
  Principal principal;
  std::string created_at;
  std::string expires_at;  // RFC 3339, empty when it never expires
};

struct NewApiKey {
  ApiKeyInfo info;
  std::string key;  // shown once; the caller wipes it
};

class ApiKeyStore {
 public:
  // Creating, rotating and deleting a key publish system.apikey.{id}.{created|rotated|deleted} on `events`.
  ApiKeyStore(KvBucket& bucket, SystemEvents& events)
      : bucket_(bucket), events_(events), cache_(std::chrono::seconds(2)) {}

  // If no bootstrap key was ever created in this NATS, creates one and writes it to `key_file`.
  // Returns true when it created the key.
  Result<bool> EnsureBootstrapKey(const std::string& key_file);
  // kUnauthenticated for a malformed, unknown, revoked or expired key.
  Result<Principal> Authenticate(std::string_view presented_key);

  // kInvalidArgument for a bad name, role, environment binding, expiry or allow-list. A key whose audit event
  // cannot be stored is removed again (kUnavailable): an unaudited key never exists.
  Result<NewApiKey> Create(const ApiKeySpec& spec, const Actor& actor);
  Result<std::vector<ApiKeyInfo>> List();
  // A new secret part for key `id` (same id, role, binding, expiry); the old key stops working at once here and
  // within 2 s on other servers. kNotFound for an unknown id. The new key is answered even when its audit event
  // is lost (the old one is gone already; the loss is logged and counted).
  Result<NewApiKey> Rotate(const std::string& id, const Actor& actor);
  // kNotFound for an unknown id; kUnavailable when the audit event could not be stored (the key is gone then).
  Status Delete(const std::string& id, const Actor& actor);

 private:
  Result<NewApiKey> Insert(const ApiKeySpec& spec);
  Result<NewApiKey> Reissue(const std::string& id);
  Status Remove(const std::string& id);
  Result<std::pair<std::string, uint64_t>> HashOf(const std::string& id);  // (hash, revision of ids.<id>)
  KvBucket& bucket_;
  SystemEvents& events_;
  TtlCache<Principal> cache_;
};

}  // namespace ironflow::server
