// MasterKey: the 32-byte key given as IRONFLOW_MASTER_KEY (64 hex chars) and its public key id.
//
// The key id is the first 8 bytes of HMAC-SHA256(key, "ironflow/key-id/v1"), hex: it identifies the key in
// storage and logs without revealing it. Seal draws a fresh random 96-bit nonce from OpenSSL's CSPRNG for every
// call. Parsing errors never echo the input. Immutable after construction; safe to share across threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "crypto/aead.h"
#include "crypto/secure_bytes.h"

namespace ironflow::server {

struct SealedBox {
  std::vector<uint8_t> nonce;       // 12 bytes
  std::vector<uint8_t> ciphertext;  // ciphertext || 16-byte tag
};

class MasterKey {
 public:
  // Parses exactly 64 hex characters. The error message describes the problem, never the input.
  static Result<MasterKey> FromHex(std::string_view hex);
  static MasterKey FromBytes(ByteView key32);  // precondition: 32 bytes

  const std::string& key_id() const { return key_id_; }
  Result<SealedBox> Seal(ByteView plaintext, ByteView aad) const;
  Result<SecureBytes> Open(const SealedBox& box, ByteView aad) const;
  // Pins the key bytes in RAM (no swap). False when the process may not lock memory.
  bool LockInMemory() const { return aead_.LockKeyInMemory(); }
  // HMAC-SHA256(key, "ironflow/request-fingerprint/v1"): keys the fingerprints of Idempotency-Key requests, the
  // same on every server that holds this master key.
  ByteView request_fingerprint_key() const { return fingerprint_key_.view(); }
  // HMAC-SHA256(key, "ironflow/backup-mac/v1"): keys the MAC of `ironflow backup` files, so that only a holder of
  // this master key can make a file `ironflow restore` accepts.
  ByteView backup_mac_key() const { return backup_mac_key_.view(); }

 private:
  MasterKey(ByteView key, std::string key_id, SecureBytes fingerprint_key, SecureBytes backup_mac_key)
      : aead_(key),
        key_id_(std::move(key_id)),
        fingerprint_key_(std::move(fingerprint_key)),
        backup_mac_key_(std::move(backup_mac_key)) {}
  Aes256Gcm aead_;
  std::string key_id_;
  SecureBytes fingerprint_key_;
  SecureBytes backup_mac_key_;
};

}  // namespace ironflow::server
