#include "http/client_address.h"

#include <boost/asio/ip/address.hpp>
#include <charconv>

namespace ironflow {

namespace {

namespace ip = boost::asio::ip;

// The address as 16 bytes (IPv4 mapped into IPv6), or nullopt when `text` is not an IP address.
std::optional<std::array<uint8_t, 16>> AddressBytes(std::string_view text) {
  boost::system::error_code ec;
  ip::address a = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  ip::address_v6 v6 = a.is_v4() ? ip::make_address_v6(ip::v4_mapped, a.to_v4()) : a.to_v6();
  if (v6.scope_id() != 0) return std::nullopt;
  return v6.to_bytes();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<TrustedProxies> TrustedProxies::Parse(const std::vector<std::string>& entries) {
  TrustedProxies out;
  for (const auto& raw : entries) {
    std::string_view entry = Trim(raw);
    const auto bad = Status::InvalidArgument("trusted proxy \"" + std::string(entry.substr(0, 64)) +
                                             "\" is neither an IP address nor a CIDR network (e.g. 10.0.0.0/8)");
    size_t slash = entry.find('/');
    auto bytes = AddressBytes(entry.substr(0, slash));
    if (!bytes) return bad;
    const bool v4 = entry.substr(0, slash).find(':') == std::string_view::npos;
    Network n;
    n.bytes = *bytes;
    n.prefix_bits = 128;
    if (slash != std::string_view::npos) {
      std::string_view digits = entry.substr(slash + 1);
      int bits = -1;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
      if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || bits < 0 ||
          bits > (v4 ? 32 : 128)) {
        return bad;
      }
      n.prefix_bits = v4 ? 96 + bits : bits;
    }
    out.networks_.push_back(n);
  }
  return out;
}

bool TrustedProxies::Contains(std::string_view address) const {
  auto bytes = AddressBytes(Trim(address));
  if (!bytes) return false;
  for (const auto& n : networks_) {
    bool match = true;
    for (int bit = 0; bit < n.prefix_bits && match; bit += 8) {
      const int take = std::min(8, n.prefix_bits - bit);
      const uint8_t mask = static_cast<uint8_t>(0xff << (8 - take));
      match = ((*bytes)[bit / 8] & mask) == (n.bytes[bit / 8] & mask);
    }
    if (match) return true;
  }
  return false;
}

std::string TrustedProxies::ClientAddress(const std::string& peer,
                                          std::optional<std::string_view> forwarded_for) const {
  if (!forwarded_for || !Contains(peer)) return peer;
  std::string client = peer;
  std::string_view rest = *forwarded_for;
  while (!rest.empty()) {
    size_t comma = rest.rfind(',');
    std::string_view hop = Trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    if (!AddressBytes(hop)) return client;  // garbage: the nearest hop we could vouch for
    client = std::string(hop);
    if (!Contains(hop)) return client;
  }
  return client;  // every hop was a trusted proxy: the farthest one
}

}  // namespace ironflow
