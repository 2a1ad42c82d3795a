// TrustedProxies: who a request really comes from when the server sits behind reverse proxies.
//
// The TCP peer of a proxied request is the proxy. Only when that peer is one of the configured trusted proxies
// is `X-Forwarded-For` believed: walking it from the right (each proxy appends the address it received the
// request from), the client is the first address that is not itself a trusted proxy. Otherwise the header is
// ignored, so a client can never choose the address it is rate-limited and logged under. Entries are IP
// addresses or CIDR networks, IPv4 or IPv6. Immutable after Parse; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ironflow {

class TrustedProxies {
 public:
  TrustedProxies() = default;  // none: X-Forwarded-For is never believed
  // kInvalidArgument naming the first entry that is neither an IP address nor a CIDR network.
  static Result<TrustedProxies> Parse(const std::vector<std::string>& entries);

  bool empty() const { return networks_.empty(); }
  bool Contains(std::string_view address) const;
  // The client's address for a request from `peer` carrying `forwarded_for` (all X-Forwarded-For values joined
  // with commas; nullopt when absent).
  std::string ClientAddress(const std::string& peer, std::optional<std::string_view> forwarded_for) const;

 private:
  struct Network {
    std::array<uint8_t, 16> bytes{};  // IPv4 as its IPv4-mapped IPv6 form
    int prefix_bits = 128;
  };
  std::vector<Network> networks_;
};

}  // namespace ironflow
