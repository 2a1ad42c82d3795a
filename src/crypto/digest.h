// Small hash/randomness helpers over OpenSSL: SHA-256, HMAC-SHA256, CSPRNG bytes, constant-time comparison.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secure_bytes.h"

struct evp_mac_st;      // OpenSSL EVP_MAC
struct evp_mac_ctx_st;  // OpenSSL EVP_MAC_CTX

namespace ironflow {

std::vector<uint8_t> Sha256(ByteView data);
std::string Sha256Hex(std::string_view data);
std::vector<uint8_t> HmacSha256(ByteView key, ByteView data);
// HMAC-SHA256 over the concatenation of `parts`, without building it (e.g. a prefix and a large body).
std::vector<uint8_t> HmacSha256(ByteView key, std::initializer_list<ByteView> parts);
// HMAC-SHA256 fed in pieces (a file read or written in chunks). Owns its OpenSSL context; not copyable.
class HmacSha256Stream {
 public:
  explicit HmacSha256Stream(ByteView key);
  ~HmacSha256Stream();
  HmacSha256Stream(const HmacSha256Stream&) = delete;
  HmacSha256Stream& operator=(const HmacSha256Stream&) = delete;
  void Update(ByteView data);
  // The 32-byte tag; call once.
  std::vector<uint8_t> Final();

 private:
  ::evp_mac_st* mac_ = nullptr;
  ::evp_mac_ctx_st* ctx_ = nullptr;
};

// Bytes from OpenSSL's CSPRNG (RAND_bytes). Aborts the process if the CSPRNG fails: continuing would be unsafe.
std::vector<uint8_t> RandomBytes(size_t n);
// Constant-time equality (CRYPTO_memcmp); false when lengths differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace ironflow
