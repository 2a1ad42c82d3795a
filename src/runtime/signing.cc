#include "runtime/signing.h"

#include <cstdlib>

#include "common/hex.h"
#include "crypto/digest.h"
#include "crypto/secure_bytes.h"

namespace ironflow {

namespace {
std::string Mac(ByteView key, int64_t t, std::string_view body) {
  // The body of a push request carries secret values: the signed copy is wiped too.
  std::string message = std::to_string(t) + "." + std::string(body);
  std::string mac = HexEncode(HmacSha256(key, AsBytes(message)));
  Cleanse(message);
  return mac;
}
}  // namespace

std::string SignatureHeader(ByteView key, int64_t unix_seconds, std::string_view body) {
  return SignatureHeader(std::vector<ByteView>{key}, unix_seconds, body);
}

std::string SignatureHeader(const std::vector<ByteView>& keys, int64_t unix_seconds, std::string_view body) {
  std::string header = "t=" + std::to_string(unix_seconds);
  for (ByteView key : keys) header += ",v1=" + Mac(key, unix_seconds, body);
  return header;
}

bool VerifySignatureHeader(std::string_view header, ByteView key, std::string_view body, int64_t now, int64_t tolerance_s) {
  int64_t t = -1;
  std::vector<std::string> sigs;
  size_t start = 0;
  while (start <= header.size()) {
    size_t comma = header.find(',', start);
    std::string_view part = header.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.substr(0, 2) == "t=" && part.size() > 2 && part.size() <= 12) {
      t = 0;
      for (char c : part.substr(2)) {
        if (c < '0' || c > '9') return false;
        t = t * 10 + (c - '0');
      }
    } else if (part.substr(0, 3) == "v1=") {
      sigs.emplace_back(part.substr(3));
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (t < 0 || sigs.empty() || std::llabs(now - t) > tolerance_s) return false;
  std::string expected = Mac(key, t, body);
  bool ok = false;
  for (const auto& s : sigs) ok = ConstantTimeEquals(s, expected) || ok;
  return ok;
}

}  // namespace ironflow
