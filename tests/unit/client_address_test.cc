// Who a request comes from behind reverse proxies: X-Forwarded-For is believed only from a trusted proxy, and
// then only up to the first hop that is not one. Table-driven.
#include "http/client_address.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace ironflow::server {
namespace {

TEST(TrustedProxiesTest, EntriesMustBeAddressesOrNetworks) {
  EXPECT_TRUE(TrustedProxies::Parse({"10.0.0.1", "10.0.0.0/8", "::1", "fd00::/8", " 192.168.1.0/24 "}).ok());
  for (const char* bad : {"", "proxy.local", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "::/129", "10.0.0.1/8/8",
                          "1.2.3", "10.0.0.0/-1"}) {
    auto parsed = TrustedProxies::Parse({bad});
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("trusted proxy"), std::string::npos) << parsed.status().message();
  }
}

TEST(TrustedProxiesTest, NetworksMatchByPrefixAcrossIpv4AndMappedForms) {
  auto p = TrustedProxies::Parse({"10.0.0.0/8", "192.168.1.7", "fd00::/8"}).value();
  EXPECT_TRUE(p.Contains("10.255.1.2"));
  EXPECT_TRUE(p.Contains("::ffff:10.1.2.3")) << "an IPv4 peer seen on a dual-stack socket";
  EXPECT_TRUE(p.Contains("192.168.1.7"));
  EXPECT_FALSE(p.Contains("192.168.1.8"));
  EXPECT_FALSE(p.Contains("11.0.0.1"));
  EXPECT_TRUE(p.Contains("fd12::1"));
  EXPECT_FALSE(p.Contains("fe80::1"));
  EXPECT_FALSE(p.Contains("not-an-ip"));
}

struct Case {
  std::string peer;
  std::optional<std::string> forwarded_for;
  std::string client;
};

TEST(TrustedProxiesTest, ClientIsTheNearestHopThatIsNotATrustedProxy) {
  auto p = TrustedProxies::Parse({"10.0.0.0/8"}).value();
  const std::vector<Case> cases = {
      {"203.0.113.9", "198.51.100.1", "203.0.113.9"},          // untrusted peer: the header is ignored
      {"10.0.0.2", std::nullopt, "10.0.0.2"},                  // a trusted proxy's own request
      {"10.0.0.2", "198.51.100.1", "198.51.100.1"},            // one proxy
      {"10.0.0.2", "198.51.100.1, 10.0.0.3", "198.51.100.1"},  // two proxies
      {"10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"},   // a spoofed left part stays unread
      {"10.0.0.2", "10.0.0.4,10.0.0.3", "10.0.0.4"},           // every hop trusted: the farthest
      {"10.0.0.2", "garbage, 10.0.0.3", "10.0.0.3"},           // unparseable hop: the last one vouched for
      {"10.0.0.2", "", "10.0.0.2"},
  };
  for (const auto& c : cases) {
    std::optional<std::string_view> ff;
    if (c.forwarded_for) ff = *c.forwarded_for;
    EXPECT_EQ(p.ClientAddress(c.peer, ff), c.client) << c.peer << " / " << c.forwarded_for.value_or("(none)");
  }
  EXPECT_EQ(TrustedProxies().ClientAddress("10.0.0.2", std::string_view("198.51.100.1")), "10.0.0.2")
      << "with no trusted proxies X-Forwarded-For must never be believed";
}

}  // namespace
}  // namespace ironflow::server
