#include "common/hex.h"

#include <openssl/evp.h>

namespace ironflow {
namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}
}  // namespace

std::string HexEncode(const uint8_t* data, size_t len) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

std::optional<std::vector<uint8_t>> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string Base64Encode(const uint8_t* data, size_t len) {
  std::string out(4 * ((len + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(len));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::vector<uint8_t>> Base64Decode(std::string_view b64) {
  if (b64.size() % 4 != 0) return std::nullopt;
  // EVP_DecodeBlock decodes '=' as a zero sextet wherever it appears (and skips some whitespace), so "Zg==Zm9v" or
  // "Z===" would decode to garbage. Check the shape first: only alphabet characters, then at most two '=' that
  // end the final quad.
  size_t pad = 0;
  if (!b64.empty() && b64.back() == '=') pad++;
  if (pad == 1 && b64[b64.size() - 2] == '=') pad++;
  for (size_t i = 0; i + pad < b64.size(); ++i) {
    if (!IsBase64Char(b64[i])) return std::nullopt;
  }
  std::vector<uint8_t> out(3 * (b64.size() / 4));
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  if (n < 0 || static_cast<size_t>(n) != out.size()) return std::nullopt;
  // EVP_DecodeBlock counts padding bytes as output; remove them.
  out.resize(out.size() - pad);
  return out;
}

}  // namespace ironflow
