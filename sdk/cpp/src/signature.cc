#include "ironflow/signature.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "common/hex.h"
#include "runtime/signing.h"
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
    throw std::invalid_argument(
        "the signing key must be 64 hex characters (32 bytes); see `ironflow signing-key show`");
  }
  return key;
}

// The server's implementation (src/runtime/signing.cc, compiled into this library): one parser, one MAC.
std::string Sign(const SigningKey& key, std::string_view body, int64_t unix_seconds) {
  return SignatureHeader(ByteView(key.bytes.data(), key.bytes.size()), unix_seconds, body);
}

bool Verify(const SigningKey& key, std::string_view header, std::string_view body, int64_t now, int64_t tolerance) {
  return VerifySignatureHeader(header, ByteView(key.bytes.data(), key.bytes.size()), body, now, tolerance);
}

}  // namespace detail

std::string signPayload(std::string_view signing_key_hex, std::string_view body, std::int64_t unix_seconds) {
  return detail::Sign(detail::SigningKey::FromHex(signing_key_hex), body, unix_seconds);
}

bool verifySignature(std::string_view signing_key_hex, std::string_view header, std::string_view body,
                     std::int64_t now_unix_seconds, std::int64_t tolerance_seconds) {
  return detail::Verify(detail::SigningKey::FromHex(signing_key_hex), header, body, now_unix_seconds,
                        tolerance_seconds);
}

}  // namespace ironflow
