// ApiKeyStore: API keys for the HTTP API, in KV bucket `ironflow-auth`.
//
// A key is "ifkey_" + 32 lowercase hex chars (128 random bits). Only its SHA-256 is stored, under
// `apikeys.<sha256 hex>` with {"id","name","hash","created_at"}; the stored hash is compared to the
// presented key's hash in constant time. On first start EnsureBootstrapKey creates one admin key and writes
// it once to `<data-dir>/bootstrap_key` (mode 0600). Successful authentications are remembered for 2 s
// (keyed by the key's hash), so a key removed through another server stops working within 2 s. Thread-safe.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "common/ttl_cache.h"
#include "store/kv_bucket.h"

namespace ironflow {

inline constexpr const char* kAuthBucket = "ironflow-auth";

struct Principal {
  std::string id;    // short public id of the key (first 8 hex of its hash)
  std::string name;  // e.g. "bootstrap-admin"
};

class ApiKeyStore {
 public:
  explicit ApiKeyStore(KvBucket& bucket) : bucket_(bucket), cache_(std::chrono::seconds(2)) {}

  // If no bootstrap key was ever created in this NATS, creates one and writes it to `key_file`.
  // Returns true when it created the key.
  Result<bool> EnsureBootstrapKey(const std::string& key_file);
  // kUnauthenticated for a malformed, unknown or revoked key.
  Result<Principal> Authenticate(std::string_view presented_key);

 private:
  KvBucket& bucket_;
  TtlCache<Principal> cache_;
};

}  // namespace ironflow
