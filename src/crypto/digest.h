// Small hash/randomness helpers over OpenSSL: SHA-256, HMAC-SHA256, CSPRNG bytes, constant-time comparison.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secure_bytes.h"

namespace ironflow {

std::vector<uint8_t> Sha256(ByteView data);
std::string Sha256Hex(std::string_view data);
std::vector<uint8_t> HmacSha256(ByteView key, ByteView data);
// Bytes from OpenSSL's CSPRNG (RAND_bytes). Aborts the process if the CSPRNG fails: continuing would be unsafe.
std::vector<uint8_t> RandomBytes(size_t n);
// Constant-time equality (CRYPTO_memcmp); false when lengths differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace ironflow
