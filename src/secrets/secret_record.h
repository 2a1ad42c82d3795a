// SecretRecord: the stored form of one secret, and its codec.
//
// One KV entry in bucket `ironflow-secrets` under key `<environment>.<NAME>` holds one JSON document:
//   {"format":1,"environment":"production","name":"STRIPE_KEY","description":"...",
//    "created_at":"2026-12-01T05:36:31.123Z","updated_at":"...",
//    "updated_by":{"type":"apikey","id":"...","name":"..."},   (who wrote this revision; absent in older records)
//    "value":{"alg":"AES-256-GCM","key_id":"<16 hex>","nonce":"<b64 12 bytes>","ciphertext":"<b64 ct||tag>"}}
// In dev mode (no master key) "value" is {"alg":"none","plaintext":"<the value>"}.
// The AAD of the seal is SecretAad(environment, name): bytes moved to another key fail to open.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "crypto/secure_bytes.h"

namespace ironflow::server {

inline constexpr int kSecretFormatVersion = 1;
inline constexpr std::string_view kAlgorithmAesGcm = "AES-256-GCM";
inline constexpr std::string_view kAlgorithmNone = "none";

struct SealedValue {
  std::string algorithm;  // "AES-256-GCM" or "none"
  std::string key_id;     // empty when algorithm is "none"
  std::vector<uint8_t> nonce;
  std::vector<uint8_t> ciphertext;  // ciphertext || tag
  SecretString plaintext;           // only when algorithm is "none" (dev mode)

  SealedValue() = default;
  SealedValue(SealedValue&&) noexcept = default;  // moves never copy a plaintext
  SealedValue& operator=(SealedValue&&) noexcept = default;
  // A copy copies a dev-mode plaintext on purpose (a retried write needs the value again).
  SealedValue(const SealedValue& other);
  SealedValue& operator=(const SealedValue& other);

  bool encrypted() const { return algorithm != kAlgorithmNone; }
};

// Who wrote a revision (the API key or dev actor).
struct RecordActor {
  std::string type;
  std::string id;
  std::string name;
};

struct SecretRecord {
  std::string environment;
  std::string name;
  std::string description;
  std::string created_at;
  std::string updated_at;
  RecordActor updated_by;
  SealedValue value;  // move-only: a record moves without copying a dev-mode plaintext, and wipes it when dropped
};

// The associated data binding a sealed value to its place: "ironflow/secret/v1" NUL environment NUL name.
std::string SecretAad(std::string_view environment, std::string_view name);
// The KV key of a secret.
std::string SecretKey(std::string_view environment, std::string_view name);
// The environment and name a KV key stands for (names never contain '.'); false for a key of another shape.
bool SplitSecretKey(std::string_view key, std::string* environment, std::string* name);

std::string EncodeSecretRecord(const SecretRecord& record);
// Rejects documents that are not a well-formed format-1 record.
Result<SecretRecord> DecodeSecretRecord(std::string_view bytes);

}  // namespace ironflow::server
