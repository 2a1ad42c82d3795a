// Push-request signatures: `X-Ironflow-Signature: t=<unix seconds>,v1=<lowercase hex HMAC-SHA256(key, "<t>." +
// body)>`, where key is the 32 bytes of the 64-hex signing key. During a key rotation the header may carry
// several v1 values; any match is accepted. PushServer verifies every request with this; apps that serve push
// requests with their own HTTP stack can call it directly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ironflow {

// The header value for `body` signed at `unix_seconds`. Throws std::invalid_argument if the key is not 64 hex
// characters (the message does not echo it).
std::string signPayload(std::string_view signing_key_hex, std::string_view body, std::int64_t unix_seconds);

// True when `header` has a timestamp within `tolerance_seconds` of `now_unix_seconds` and at least one v1 value
// equal (constant-time comparison) to the HMAC of "<t>." + body. Malformed headers are false. Throws
// std::invalid_argument for a malformed key.
bool verifySignature(std::string_view signing_key_hex, std::string_view header, std::string_view body,
                     std::int64_t now_unix_seconds, std::int64_t tolerance_seconds = 300);

}  // namespace ironflow
