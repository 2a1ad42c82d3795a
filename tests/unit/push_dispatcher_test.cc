// PushDispatcher (push/push_dispatcher.h): every call started reports exactly once, also when the dispatcher is
// stopped while calls are in flight; once stopped it takes no new call; it never runs more calls at once than
// its limit; an app that cannot be reached is a retryable failure, a URL it cannot call a final one.
#include "push/push_dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>

#include "store/embedded_nats.h"

namespace ironflow::server {
namespace {

std::string Sign(int64_t, std::string_view) { return "t=0,v1=test"; }

TEST(PushDispatcherTest, EveryStartedCallReportsOnceAndStopWaitsForThem) {
  PushDispatcher push(Sign, "", 4);
  const std::string url = "http://127.0.0.1:" + std::to_string(PickFreeLoopbackPort()) + "/push";
  std::atomic<int> done{0}, retryable{0};
  constexpr int kCalls = 12;
  int started = 0;
  for (int i = 0; i < kCalls; ++i) {
    if (push.Start(PushCall{url, "{\"run\":" + std::to_string(i) + "}", 2000}, [&](PushAnswer a) {
          if (!a.result.ok() && a.retryable) ++retryable;
          ++done;
        })) {
      ++started;
    }
  }
  EXPECT_EQ(started, kCalls);
  push.Stop();
  EXPECT_EQ(done.load(), kCalls) << "Stop returned before every call had reported";
  EXPECT_EQ(retryable.load(), kCalls) << "a refused connection is worth another attempt";
  EXPECT_EQ(push.room(), 0);
  bool called_after_stop = false;
  EXPECT_FALSE(push.Start(PushCall{url, "{}", 1000}, [&](PushAnswer) { called_after_stop = true; }));
  push.Stop();
  EXPECT_FALSE(called_after_stop);
}

TEST(PushDispatcherTest, RoomCountsCallsInFlightAgainstTheLimit) {
  PushDispatcher push(Sign, "", 2);
  EXPECT_EQ(push.room(), 2);
  std::latch release(1);
  std::atomic<int> done{0};
  const std::string url = "http://127.0.0.1:" + std::to_string(PickFreeLoopbackPort()) + "/";
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(push.Start(PushCall{url, "{}", 1000}, [&](PushAnswer) {
      release.wait();  // hold the call's slot until the test has looked
      ++done;
    }));
  }
  EXPECT_EQ(push.room(), 0);
  release.count_down();
  push.Stop();
  EXPECT_EQ(done.load(), 2);
}

TEST(PushDispatcherTest, AUrlThatCannotBeCalledIsAFinalFailure) {
  PushDispatcher push(Sign, "", 1);
  PushCall call{"ftp://127.0.0.1/push", "{\"secrets\":{\"K\":\"v\"}}", 1000};
  PushAnswer answer = push.Call(call);
  EXPECT_FALSE(answer.result.ok());
  EXPECT_FALSE(answer.retryable);
  EXPECT_TRUE(call.body.empty() || call.body.find("\"v\"") == std::string::npos) << "the body was not wiped";
}

}  // namespace
}  // namespace ironflow::server
