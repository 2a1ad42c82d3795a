// RetiredHandles keeps a handle for its whole grace period and destroys it after (store/retired_handles.h).
#include "store/retired_handles.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>

namespace ironflow::server {
namespace {

using Clock = RetiredHandles::Clock;

void MarkDestroyed(void* p) { *static_cast<bool*>(p) = true; }

class RetiredHandlesTest : public ::testing::Test {
 protected:
  // Declared before the keeper, so they outlive it: its destructor destroys what it still keeps.
  bool first_ = false, second_ = false, third_ = false;
  Clock::time_point now_{};
  // A keeper with a 10 s grace period on a clock the test moves (no thread: Sweep destroys).
  RetiredHandles keeper_{10000, [this] { return now_; }};
};

TEST_F(RetiredHandlesTest, AHandleOutlivesItsWholeGracePeriodAndIsDestroyedAfterIt) {
  keeper_.Retire(&first_, &MarkDestroyed);
  now_ += std::chrono::milliseconds(9999);
  keeper_.Retire(&second_, &MarkDestroyed);
  keeper_.Sweep();
  EXPECT_FALSE(first_) << "destroyed before its grace period ended";
  now_ += std::chrono::milliseconds(1);
  keeper_.Retire(&third_, &MarkDestroyed);
  keeper_.Sweep();
  EXPECT_TRUE(first_);
  EXPECT_FALSE(second_);
  EXPECT_FALSE(third_);
  EXPECT_EQ(keeper_.kept(), 2u);
}

TEST_F(RetiredHandlesTest, HandlesStillKeptAreDestroyedWithTheKeeper) {
  bool kept = false;
  {
    RetiredHandles keeper;
    keeper.Retire(&kept, &MarkDestroyed);
    EXPECT_FALSE(kept);
  }
  EXPECT_TRUE(kept);
}

// On the real clock, with nothing else retired after it: a quiet server still lets its last handles go.
TEST(RetiredHandlesSweeperTest, TheKeepersThreadDestroysAHandleWhenItsGraceEndsWithoutAnotherRetirement) {
  std::promise<Clock::time_point> destroyed;
  auto when = destroyed.get_future();
  RetiredHandles keeper(50);
  const Clock::time_point retired = Clock::now();
  keeper.Retire(&destroyed, [](void* p) { static_cast<std::promise<Clock::time_point>*>(p)->set_value(Clock::now()); });
  ASSERT_EQ(when.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "never destroyed";
  EXPECT_GE(when.get() - retired, std::chrono::milliseconds(50)) << "destroyed before its grace period ended";
  EXPECT_EQ(keeper.kept(), 0u);
}

}  // namespace
}  // namespace ironflow::server
