// RetiredHandles keeps a handle for its whole grace period and destroys it after (store/retired_handles.h).
#include "store/retired_handles.h"

#include <gtest/gtest.h>

#include <chrono>

namespace ironflow::server {
namespace {

using Clock = RetiredHandles::Clock;

void MarkDestroyed(void* p) { *static_cast<bool*>(p) = true; }

class RetiredHandlesTest : public ::testing::Test {
 protected:
  // A keeper with a 10 s grace period on a clock the test moves.
  RetiredHandles keeper_{10000, [this] { return now_; }};
  Clock::time_point now_{};
};

TEST_F(RetiredHandlesTest, AHandleOutlivesItsWholeGracePeriodAndIsDestroyedAfterIt) {
  bool first = false, second = false, third = false;
  keeper_.Retire(&first, &MarkDestroyed);
  now_ += std::chrono::milliseconds(9999);
  keeper_.Retire(&second, &MarkDestroyed);
  EXPECT_FALSE(first) << "destroyed before its grace period ended";
  now_ += std::chrono::milliseconds(1);
  keeper_.Retire(&third, &MarkDestroyed);
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  EXPECT_FALSE(third);
  EXPECT_EQ(keeper_.kept(), 2u);
}

TEST(RetiredHandlesLifetimeTest, HandlesStillKeptAreDestroyedWithTheKeeper) {
  bool kept = false;
  {
    RetiredHandles keeper;
    keeper.Retire(&kept, &MarkDestroyed);
    EXPECT_FALSE(kept);
  }
  EXPECT_TRUE(kept);
}

}  // namespace
}  // namespace ironflow::server
