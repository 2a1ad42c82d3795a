// NatsConnection against a real nats-server: the Nats-Msg-Id values it makes up never repeat, within one
// connection or across connections (JetStream would drop a second message carrying an id it has seen).
#include "store/nats_connection.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "support/nats_fixture.h"

namespace ironflow::server {
namespace {

TEST(NatsConnectionTest, MessageIdsNeverRepeatWithinOrAcrossConnections) {
  testing::NatsFixture nats;
  auto a = nats.Connect(), b = nats.Connect();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) {
    for (auto* nc : {a.get(), b.get()}) {
      const std::string id = nc->NewMessageId();
      ASSERT_EQ(id.size(), 32u) << id;
      ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
      ASSERT_TRUE(seen.insert(id).second) << "repeated: " << id;
    }
  }
}

}  // namespace
}  // namespace ironflow::server
