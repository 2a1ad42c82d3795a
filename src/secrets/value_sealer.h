// ValueSealer: turns a secret's plaintext into the SealedValue stored in its record, and back.
//
// With a MasterKey it seals with AES-256-GCM under SecretAad(environment, name); without one (dev mode) it
// stores the plaintext as is. Open accepts both kinds, so dev-mode entries stay readable after a key is set.
// A value sealed under another key id fails with a clear error instead of garbage. During a master-key rotation
// the previous key (IRONFLOW_MASTER_KEY_PREVIOUS) still opens what it sealed; new seals always use the current
// key. With a NonceBudget every seal is counted against the current key's 2^32 limit and refused past it.
// Thread-safe.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "crypto/master_key.h"
#include "crypto/secure_bytes.h"
#include "secrets/nonce_budget.h"
#include "secrets/secret_record.h"

namespace ironflow::server {

class ValueSealer {
 public:
  // `budget` (may be null) counts the current key's encryptions; it must outlive the sealer.
  explicit ValueSealer(std::optional<MasterKey> key, std::optional<MasterKey> previous = std::nullopt,
                       NonceBudget* budget = nullptr)
      : key_(std::move(key)), previous_(std::move(previous)), budget_(budget) {}

  bool encrypting() const { return key_.has_value(); }
  // Empty in dev mode.
  std::string key_id() const { return key_ ? key_->key_id() : std::string(); }
  // Empty when no previous key is configured.
  std::string previous_key_id() const { return previous_ ? previous_->key_id() : std::string(); }
  // True when this sealer holds the key with id `key_id` (the current or the previous one).
  bool HoldsKey(std::string_view key_id) const {
    return (key_ && key_id == key_->key_id()) || (previous_ && key_id == previous_->key_id());
  }
  // Null in dev mode or when encryptions are not counted.
  const NonceBudget* budget() const { return budget_; }

  Result<SealedValue> Seal(std::string_view environment, std::string_view name, std::string_view plaintext) const;
  Result<SecretString> Open(std::string_view environment, std::string_view name, const SealedValue& sealed) const;

 private:
  std::optional<MasterKey> key_;
  std::optional<MasterKey> previous_;
  NonceBudget* budget_;
};

}  // namespace ironflow::server
