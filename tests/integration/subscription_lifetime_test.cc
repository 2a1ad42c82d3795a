// Closing subscriptions while messages for them keep arriving, against a real nats-server. nats.c 3.4.1's read
// loop uses a subscription after releasing the lock it found it under; a subscription destroyed right after its
// unsubscribe corrupted the heap within seconds (store/retired_handles.h). A crash fails this test.
#include <nats/nats.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "store/nats_connection.h"
#include "store/nats_handles.h"
#include "store/retired_handles.h"
#include "support/nats_fixture.h"

namespace ironflow::server {
namespace {

TEST(SubscriptionLifetimeTest, SubscriptionsClosedWhileMessagesFloodInLeaveTheProcessIntact) {
  testing::NatsFixture nats;
  // A short grace period, so that subscriptions are also destroyed (not only kept) while the flood goes on.
  NatsConnection::Options options;
  options.url = nats.url();
  options.retire_grace_ms = 300;
  auto connected = NatsConnection::Connect(options);
  ASSERT_TRUE(connected.ok()) << connected.status().message();
  std::unique_ptr<NatsConnection> victim = std::move(*connected);
  // A plain nats.c connection (buffered publishes, unlike the server's send-at-once ones) floods fastest.
  natsConnection* raw_flooder = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&raw_flooder, nats.url().c_str()), NATS_OK);
  nats::ConnectionPtr flooder(raw_flooder);
  std::atomic<bool> stop{false};
  std::thread flood([&] {
    while (!stop.load()) natsConnection_PublishString(flooder.get(), "flood", "a message for a closing subscription");
  });
  int closed = 0, received = 0;
  bool subscribed = true;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (subscribed && std::chrono::steady_clock::now() < end) {
    nats::SubscriptionPtr sub;
    subscribed = nats::SubscribeSync(victim->raw(), "flood", victim->retired(), &sub) == NATS_OK;
    natsMsg* msg = nullptr;
    if (subscribed && natsSubscription_NextMsg(&msg, sub.get(), 1000) == NATS_OK) {
      ++received;
      natsMsg_Destroy(msg);
    }
    sub.reset();  // unsubscribed while the flood goes on
    ++closed;
  }
  stop = true;
  flood.join();
  EXPECT_TRUE(subscribed);
  EXPECT_GT(received, 0) << "the flood never reached a subscription: nothing was raced";
  const size_t kept = victim->retired()->kept();
  EXPECT_GT(kept, 0u) << "closed subscriptions were destroyed at once";
  EXPECT_LT(kept, static_cast<size_t>(closed)) << "none was destroyed during the flood: that path went untested";
  RecordProperty("subscriptions_closed", closed);
}

}  // namespace
}  // namespace ironflow::server
