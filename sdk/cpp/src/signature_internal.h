// Internal: signing and verifying with a decoded key held in a buffer that is wiped when released.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ironflow::detail {

struct SigningKey {
  std::array<unsigned char, 32> bytes{};
  SigningKey() = default;
  SigningKey(const SigningKey&) = default;
  SigningKey& operator=(const SigningKey&) = default;
  ~SigningKey();
  // Throws std::invalid_argument (without echoing the input) unless `hex` is 64 hex characters.
  static SigningKey FromHex(std::string_view hex);
};

std::string Sign(const SigningKey& key, std::string_view body, int64_t unix_seconds);
bool Verify(const SigningKey& key, std::string_view header, std::string_view body, int64_t now_unix_seconds,
            int64_t tolerance_seconds);

}  // namespace ironflow::detail
