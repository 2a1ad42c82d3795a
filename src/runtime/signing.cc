#include "runtime/signing.h"

#include <cstdlib>

#include "common/hex.h"
#include "crypto/digest.h"

namespace ironflow {

namespace {

// HMAC-SHA256(key, "<t>." + body), computed over the two parts: the body (a job with secret values) is not copied.
std::vector<uint8_t> Mac(ByteView key, int64_t t, std::string_view body) {
  const std::string prefix = std::to_string(t) + ".";
  return HmacSha256(key, {AsBytes(prefix), AsBytes(body)});
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string SignatureHeader(ByteView key, int64_t unix_seconds, std::string_view body) {
  return SignatureHeader(std::vector<ByteView>{key}, unix_seconds, body);
}

std::string SignatureHeader(const std::vector<ByteView>& keys, int64_t unix_seconds, std::string_view body) {
  std::string header = "t=" + std::to_string(unix_seconds);
  for (ByteView key : keys) header += ",v1=" + HexEncode(Mac(key, unix_seconds, body));
  return header;
}

bool VerifySignatureHeader(std::string_view header, ByteView key, std::string_view body, int64_t now,
                           int64_t tolerance_s) {
  bool have_t = false;
  int64_t t = 0;
  std::vector<std::string_view> candidates;
  size_t start = 0;
  for (;;) {
    const size_t comma = header.find(',', start);
    std::string_view item =
        Trim(header.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    const size_t eq = item.find('=');
    if (eq != std::string_view::npos) {
      const std::string_view k = Trim(item.substr(0, eq));
      const std::string_view v = Trim(item.substr(eq + 1));
      if (k == "t") {
        if (have_t || v.empty() || v.size() > 15) return false;  // one timestamp, at most 15 digits
        for (char c : v) {
          if (c < '0' || c > '9') return false;
          t = t * 10 + (c - '0');
        }
        have_t = true;
      } else if (k == "v1") {
        candidates.push_back(v);
      }
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (!have_t || candidates.empty() || std::llabs(now - t) > tolerance_s) return false;
  std::vector<uint8_t> expected = Mac(key, t, body);
  const std::string_view want(reinterpret_cast<const char*>(expected.data()), expected.size());
  bool match = false;
  for (std::string_view candidate : candidates) {
    if (candidate.size() != 2 * expected.size()) continue;
    auto given = HexDecode(candidate);
    if (!given) continue;
    // Every candidate is compared (in constant time), so timing does not tell which one matched.
    match = ConstantTimeEquals(std::string_view(reinterpret_cast<const char*>(given->data()), given->size()), want) ||
            match;
  }
  Cleanse(expected);
  return match;
}

}  // namespace ironflow
