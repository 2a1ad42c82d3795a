// ValueSealer: turns a secret's plaintext into the SealedValue stored in its record, and back.
//
// With a MasterKey it seals with AES-256-GCM under SecretAad(environment, name); without one (dev mode) it
// stores the plaintext as is. Open accepts both kinds, so dev-mode entries stay readable after a key is set.
// A value sealed under another key id fails with a clear error instead of garbage. Thread-safe (immutable).
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "crypto/master_key.h"
#include "crypto/secure_bytes.h"
#include "secrets/secret_record.h"

namespace ironflow {

class ValueSealer {
 public:
  explicit ValueSealer(std::optional<MasterKey> key) : key_(std::move(key)) {}

  bool encrypting() const { return key_.has_value(); }
  // Empty in dev mode.
  std::string key_id() const { return key_ ? key_->key_id() : std::string(); }

  Result<SealedValue> Seal(std::string_view environment, std::string_view name, std::string_view plaintext) const;
  Result<SecretString> Open(std::string_view environment, std::string_view name, const SealedValue& sealed) const;

 private:
  std::optional<MasterKey> key_;
};

}  // namespace ironflow
