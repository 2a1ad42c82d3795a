// Fuzz target: the push-mode signature verifier (every byte of the X-Ironflow-Signature header is attacker
// controlled). The input is split at the first newline into header and body and verified against a fixed key.
// Property: an accepted header carries the timestamp it claims and the exact v1 HMAC we compute for that
// timestamp and body; anything else must be refused (and nothing may crash).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/signing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const uint8_t kKey[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view header = in.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  ironflow::ByteView key(kKey, sizeof kKey);
  const int64_t now = 1800000000;
  if (!ironflow::VerifySignatureHeader(header, key, body, now, 300)) return 0;
  // The timestamp part, found as the verifier finds it: a comma-separated part starting with "t=".
  int64_t ts = -1;
  for (size_t start = 0; start <= header.size();) {
    size_t comma = header.find(',', start);
    std::string_view part =
        header.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (part.substr(0, 2) == "t=") {
      ts = 0;
      for (char c : part.substr(2)) ts = ts * 10 + (c - '0');
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (ts < 0) __builtin_trap();
  std::string expected = ironflow::SignatureHeader(key, ts, body);
  std::string_view v1 = std::string_view(expected).substr(expected.find("v1="));
  if (header.find(v1) == std::string_view::npos) __builtin_trap();
  return 0;
}
