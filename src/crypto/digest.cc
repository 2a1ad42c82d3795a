#include "crypto/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>

#include "common/hex.h"

namespace ironflow {

std::vector<uint8_t> Sha256(ByteView data) {
  std::vector<uint8_t> out(SHA256_DIGEST_LENGTH);
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256(AsBytes(data))); }

std::vector<uint8_t> HmacSha256(ByteView key, ByteView data) {
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

namespace {
[[noreturn]] void HmacFailed() {
  std::fputs("ironflow: fatal: OpenSSL HMAC-SHA256 failed\n", stderr);
  std::abort();
}
}  // namespace

HmacSha256Stream::HmacSha256Stream(ByteView key) {
  mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  ctx_ = mac_ ? EVP_MAC_CTX_new(mac_) : nullptr;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
  if (!ctx_ || EVP_MAC_init(ctx_, key.data(), key.size(), params) != 1) HmacFailed();
}

HmacSha256Stream::~HmacSha256Stream() {
  EVP_MAC_CTX_free(ctx_);
  EVP_MAC_free(mac_);
}

void HmacSha256Stream::Update(ByteView data) {
  if (EVP_MAC_update(ctx_, data.data(), data.size()) != 1) HmacFailed();
}

std::vector<uint8_t> HmacSha256Stream::Final() {
  std::vector<uint8_t> out(32);
  size_t len = 0;
  if (EVP_MAC_final(ctx_, out.data(), &len, out.size()) != 1 || len != out.size()) HmacFailed();
  return out;
}

std::vector<uint8_t> HmacSha256(ByteView key, std::initializer_list<ByteView> parts) {
  HmacSha256Stream mac(key);
  for (ByteView part : parts) mac.Update(part);
  return mac.Final();
}

std::vector<uint8_t> RandomBytes(size_t n) {
  std::vector<uint8_t> out(n);
  if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
    std::fputs("ironflow: fatal: OpenSSL CSPRNG failed\n", stderr);
    std::abort();
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ironflow
