#include "crypto/aead.h"

#include <sys/mman.h>

#include <openssl/evp.h>

#include <climits>

namespace ironflow::server {
namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

bool FitsInt(size_t n) { return n <= static_cast<size_t>(INT_MAX); }

}  // namespace

void Aes256Gcm::CipherFree::operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }

Aes256Gcm::Aes256Gcm(ByteView key) : key_(key), cipher_(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr)) {}
Aes256Gcm::~Aes256Gcm() = default;
Aes256Gcm::Aes256Gcm(Aes256Gcm&&) noexcept = default;
Aes256Gcm& Aes256Gcm::operator=(Aes256Gcm&&) noexcept = default;

Result<std::vector<uint8_t>> Aes256Gcm::Seal(ByteView nonce, ByteView plaintext, ByteView aad) const {
  if (!cipher_ || key_.size() != kKeyBytes) return Status::Internal("AES-256-GCM unavailable or key size wrong");
  if (nonce.size() != kNonceBytes) return Status::InvalidArgument("nonce must be 12 bytes");
  if (!FitsInt(plaintext.size()) || !FitsInt(aad.size())) return Status::InvalidArgument("input too large");

  CtxPtr ctx(EVP_CIPHER_CTX_new());
  std::vector<uint8_t> out(plaintext.size() + kTagBytes);
  int len = 0, total = 0;
  bool ok = ctx && EVP_EncryptInit_ex2(ctx.get(), cipher_.get(), key_.data(), nonce.data(), nullptr) == 1;
  if (ok && !aad.empty())
    ok = EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1;
  if (ok && !plaintext.empty()) {
    ok = EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(), static_cast<int>(plaintext.size())) == 1;
    total = len;
  }
  if (ok) ok = EVP_EncryptFinal_ex(ctx.get(), out.data() + total, &len) == 1;
  if (ok) ok = EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, out.data() + plaintext.size()) == 1;
  if (!ok) return Status::Internal("AES-256-GCM encryption failed");
  return out;
}

Result<SecureBytes> Aes256Gcm::Open(ByteView nonce, ByteView sealed, ByteView aad) const {
  if (!cipher_ || key_.size() != kKeyBytes) return Status::Internal("AES-256-GCM unavailable or key size wrong");
  if (nonce.size() != kNonceBytes) return Status::InvalidArgument("nonce must be 12 bytes");
  if (sealed.size() < kTagBytes) return Status::InvalidArgument("sealed data shorter than the tag");
  if (!FitsInt(sealed.size()) || !FitsInt(aad.size())) return Status::InvalidArgument("input too large");

  const size_t ct_len = sealed.size() - kTagBytes;
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  SecureBytes plain(ct_len);
  int len = 0, total = 0;
  bool ok = ctx && EVP_DecryptInit_ex2(ctx.get(), cipher_.get(), key_.data(), nonce.data(), nullptr) == 1;
  if (ok && !aad.empty())
    ok = EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1;
  if (ok && ct_len > 0) {
    ok = EVP_DecryptUpdate(ctx.get(), plain.data(), &len, sealed.data(), static_cast<int>(ct_len)) == 1;
    total = len;
  }
  // The tag is an input to verification; OpenSSL's ctrl takes a non-const pointer but does not write through it.
  if (ok) {
    ok = EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                             const_cast<uint8_t*>(sealed.data() + ct_len)) == 1;
  }
  if (ok) ok = EVP_DecryptFinal_ex(ctx.get(), plain.data() + total, &len) == 1;
  if (!ok)
    return Status::InvalidArgument("authentication failed: ciphertext, nonce, tag or associated data do not match");
  return plain;
}

bool Aes256Gcm::LockKeyInMemory() const { return key_.empty() || mlock(key_.data(), key_.size()) == 0; }

}  // namespace ironflow::server
