#include "ironflow/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "common/hex.h"
#include "signature_internal.h"

namespace ironflow {

namespace detail {

namespace {

// Decodes exactly 2*N hex characters (either case) with the project's hex codec; false otherwise.
template <size_t N>
bool DecodeHex(std::string_view hex, std::array<unsigned char, N>& out) {
  if (hex.size() != 2 * N) return false;
  auto bytes = HexDecode(hex);
  if (!bytes) return false;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  OPENSSL_cleanse(bytes->data(), bytes->size());
  return true;
}

std::array<unsigned char, 32> Mac(const SigningKey& key, int64_t t, std::string_view body) {
  std::string prefix = std::to_string(t) + ".";
  std::array<unsigned char, 32> out{};
  // HMAC over prefix || body without copying the body.
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
  size_t out_len = 0;
  bool ok = ctx && EVP_MAC_init(ctx, key.bytes.data(), key.bytes.size(), params) == 1 &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(prefix.data()), prefix.size()) == 1 &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(body.data()), body.size()) == 1 &&
            EVP_MAC_final(ctx, out.data(), &out_len, out.size()) == 1 && out_len == out.size();
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  if (!ok) throw std::runtime_error("HMAC-SHA256 failed (OpenSSL)");
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

SigningKey::~SigningKey() { OPENSSL_cleanse(bytes.data(), bytes.size()); }

SigningKey SigningKey::FromHex(std::string_view hex) {
  SigningKey key;
  if (!DecodeHex(Trim(hex), key.bytes)) {
    throw std::invalid_argument("the signing key must be 64 hex characters (32 bytes); see `ironflow signing-key show`");
  }
  return key;
}

std::string Sign(const SigningKey& key, std::string_view body, int64_t unix_seconds) {
  static const char* kHex = "0123456789abcdef";
  auto mac = Mac(key, unix_seconds, body);
  std::string out = "t=" + std::to_string(unix_seconds) + ",v1=";
  for (unsigned char b : mac) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

bool Verify(const SigningKey& key, std::string_view header, std::string_view body, int64_t now, int64_t tolerance) {
  bool have_t = false;
  int64_t t = 0;
  std::vector<std::string_view> candidates;
  size_t start = 0;
  for (;;) {
    size_t comma = header.find(',', start);
    std::string_view item = Trim(header.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    size_t eq = item.find('=');
    if (eq != std::string_view::npos) {
      std::string_view k = Trim(item.substr(0, eq));
      std::string_view v = Trim(item.substr(eq + 1));
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
  if (!have_t || candidates.empty()) return false;
  if (std::llabs(now - t) > tolerance) return false;
  auto expected = Mac(key, t, body);
  bool match = false;
  for (std::string_view candidate : candidates) {
    std::array<unsigned char, 32> given{};
    if (!DecodeHex(candidate, given)) continue;
    match = (CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0) || match;
  }
  OPENSSL_cleanse(expected.data(), expected.size());
  return match;
}

}  // namespace detail

std::string signPayload(std::string_view signing_key_hex, std::string_view body, std::int64_t unix_seconds) {
  return detail::Sign(detail::SigningKey::FromHex(signing_key_hex), body, unix_seconds);
}

bool verifySignature(std::string_view signing_key_hex, std::string_view header, std::string_view body,
                     std::int64_t now_unix_seconds, std::int64_t tolerance_seconds) {
  return detail::Verify(detail::SigningKey::FromHex(signing_key_hex), header, body, now_unix_seconds, tolerance_seconds);
}

}  // namespace ironflow
