// Hex and base64 codecs for bytes. Decoders reject malformed input instead of guessing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ironflow {

std::string HexEncode(const uint8_t* data, size_t len);
inline std::string HexEncode(const std::vector<uint8_t>& v) { return HexEncode(v.data(), v.size()); }
// Decodes an even-length hex string (either case). nullopt on any other input.
std::optional<std::vector<uint8_t>> HexDecode(std::string_view hex);

std::string Base64Encode(const uint8_t* data, size_t len);
inline std::string Base64Encode(std::string_view s) {
  return Base64Encode(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
// Decodes standard padded base64. nullopt on malformed input.
std::optional<std::vector<uint8_t>> Base64Decode(std::string_view b64);

}  // namespace ironflow
