// ReplyInboxes against a real nats-server: pooled reply subscriptions never hand one round's answers to another.
#include "store/reply_inboxes.h"

#include <gtest/gtest.h>

#include <string>

#include "store/nats_connection.h"
#include "support/nats_fixture.h"

namespace ironflow::server {
namespace {

class ReplyInboxesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nc_ = nats_.Connect();
    ASSERT_NE(nc_, nullptr);
  }
  // Publishes `data` to `subject` and waits until the server has routed it (a round trip on the connection).
  void Send(const std::string& subject, const std::string& data) {
    ASSERT_TRUE(nc_->Publish(subject, data).ok());
    ASSERT_EQ(natsConnection_FlushTimeout(nc_->raw(), 5000), NATS_OK);
  }
  // Begins a round and ends it at once (its subscription goes back to the pool); returns its prefix.
  static std::string EndedRound(ReplyInboxes& inboxes) {
    ReplyInboxes::Round round;
    EXPECT_EQ(inboxes.Begin(&round), NATS_OK);
    return round.prefix();
  }
  static std::string Data(const nats::MsgPtr& msg) {
    return std::string(natsMsg_GetData(msg.get()), natsMsg_GetDataLength(msg.get()));
  }
  testing::NatsFixture nats_;
  std::unique_ptr<NatsConnection> nc_;
};

TEST_F(ReplyInboxesTest, ARoundReusesAnIdleSubscriptionWithAPrefixOfItsOwn) {
  ReplyInboxes inboxes(nc_->raw(), nc_->retired());
  const std::string first_prefix = EndedRound(inboxes);
  EXPECT_EQ(inboxes.idle(), 1u) << "the ended round's subscription was not kept for the next";
  ReplyInboxes::Round round;
  ASSERT_EQ(inboxes.Begin(&round), NATS_OK);
  EXPECT_EQ(inboxes.idle(), 0u) << "the round subscribed anew instead of taking the idle subscription";
  EXPECT_NE(round.prefix(), first_prefix);
  Send(round.prefix() + ".0", "answer");
  nats::MsgPtr msg;
  ASSERT_EQ(round.Next(&msg, 5000), NATS_OK);
  EXPECT_EQ(Data(msg), "answer");
}

TEST_F(ReplyInboxesTest, ALateAnswerToAnEarlierRoundIsNeverTakenForTheNextRoundsOnTheSameSubscription) {
  ReplyInboxes inboxes(nc_->raw(), nc_->retired());
  const std::string earlier = EndedRound(inboxes);  // that round stopped waiting: its answers may still come
  ReplyInboxes::Round round;
  ASSERT_EQ(inboxes.Begin(&round), NATS_OK);
  // Same index, same subscription: only the round number tells them apart.
  Send(earlier + ".0", "late");
  Send(round.prefix() + ".0", "mine");
  nats::MsgPtr msg;
  ASSERT_EQ(round.Next(&msg, 5000), NATS_OK);
  EXPECT_EQ(Data(msg), "mine");
  EXPECT_EQ(round.Next(&msg, 200), NATS_TIMEOUT) << "a second answer came: the earlier round's";
}

TEST_F(ReplyInboxesTest, ARoundWhoseWaitFailedDoesNotReturnItsSubscription) {
  ReplyInboxes inboxes(nc_->raw(), nc_->retired());
  {
    ReplyInboxes::Round round;
    ASSERT_EQ(inboxes.Begin(&round), NATS_OK);
    nc_->Close();
    nats::MsgPtr msg;
    EXPECT_NE(round.Next(&msg, 1000), NATS_OK);
  }
  EXPECT_EQ(inboxes.idle(), 0u) << "a subscription of a closed connection went back to the pool";
}

}  // namespace
}  // namespace ironflow::server
