// Small hash/randomness helpers over OpenSSL: SHA-256, HMAC-SHA256, CSPRNG bytes, constant-time comparison.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secure_bytes.h"

namespace ironflow {

std::vector<uint8_t> Sha256(ByteView data);
std::string Sha256Hex(std::string_view data);
std::vector<uint8_t> HmacSha256(ByteView key, ByteView data);
// HMAC-SHA256 over the concatenation of `parts`, without building it (e.g. a prefix and a large body).
std::vector<uint8_t> HmacSha256(ByteView key, std::initializer_list<ByteView> parts);
// Bytes from OpenSSL's CSPRNG (RAND_bytes). Aborts the process if the CSPRNG fails: continuing would be unsafe.
std::vector<uint8_t> RandomBytes(size_t n);
// Constant-time equality (CRYPTO_memcmp); false when lengths differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace ironflow
