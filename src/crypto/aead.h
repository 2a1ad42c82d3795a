// Aes256Gcm: the AEAD layer. AES-256-GCM through OpenSSL 3 EVP with a 96-bit nonce and a 128-bit tag.
//
// It only seals and opens bytes with associated data; it knows nothing of secrets, names or storage. Sealed
// output is ciphertext || tag. Open releases plaintext only when the tag verifies: on failure it returns an
// error and no bytes (the partial output buffer is wiped). Nonce choice is the caller's job (MasterKey draws a
// fresh random one per seal). Each call uses its own EVP_CIPHER_CTX, so one instance is safe to share across
// threads.
#pragma once

#include <memory>
#include <vector>

#include "common/status.h"
#include "crypto/secure_bytes.h"

typedef struct evp_cipher_st EVP_CIPHER;

namespace ironflow::server {

class Aes256Gcm {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kNonceBytes = 12;
  static constexpr size_t kTagBytes = 16;

  // `key` must be exactly kKeyBytes long (checked by the caller; see MasterKey::FromHex).
  explicit Aes256Gcm(ByteView key);
  ~Aes256Gcm();
  Aes256Gcm(Aes256Gcm&&) noexcept;
  Aes256Gcm& operator=(Aes256Gcm&&) noexcept;

  // Returns ciphertext || tag.
  Result<std::vector<uint8_t>> Seal(ByteView nonce, ByteView plaintext, ByteView aad) const;
  // `sealed` is ciphertext || tag. Fails (releasing nothing) when the tag does not verify.
  Result<SecureBytes> Open(ByteView nonce, ByteView sealed, ByteView aad) const;
  // Pins the key's bytes in RAM (mlock) so they are never written to swap. False when not permitted.
  bool LockKeyInMemory() const;

 private:
  SecureBytes key_;
  struct CipherFree {
    void operator()(EVP_CIPHER* c) const;
  };
  std::unique_ptr<EVP_CIPHER, CipherFree> cipher_;
};

}  // namespace ironflow::server
