// Push-mode request signing: `X-Ironflow-Signature: t=<unix seconds>,v1=<lowercase hex HMAC-SHA256(key, "<t>." +
// body)>`, key = the 32 bytes of the 64-hex signing key. Verification accepts any of several v1 values (key
// rotation), compares in constant time and rejects timestamps more than `tolerance_s` away from now. One
// implementation for the server (signing) and the SDK (verifying), which compiles this file in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secure_bytes.h"

namespace ironflow {

std::string SignatureHeader(ByteView key, int64_t unix_seconds, std::string_view body);
// One `v1=` per key, in order (a signing-key rotation's grace window: current and previous).
std::string SignatureHeader(const std::vector<ByteView>& keys, int64_t unix_seconds, std::string_view body);
bool VerifySignatureHeader(std::string_view header, ByteView key, std::string_view body, int64_t now_unix_seconds,
                           int64_t tolerance_s = 300);

}  // namespace ironflow
