// FailureLimiter (auth/failure_limiter.h): an address that keeps failing authentication is stopped after its
// burst, other addresses are not, and tokens come back at the configured rate.
#include "auth/failure_limiter.h"

#include <gtest/gtest.h>

namespace ironflow::server {
namespace {

TEST(FailureLimiterTest, AnAddressIsStoppedAfterItsBurstOfFailures) {
  FailureLimiter limiter(/*per_second=*/0.001, /*burst=*/3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Allowed("203.0.113.7", nullptr)) << "failure " << i;
    limiter.RecordFailure("203.0.113.7");
  }
  int retry_after = 0;
  EXPECT_FALSE(limiter.Allowed("203.0.113.7", &retry_after));
  EXPECT_GT(retry_after, 100) << "a token comes back only after about 1000 s at this rate";
}

TEST(FailureLimiterTest, OtherAddressesAreNotAffected) {
  FailureLimiter limiter(0.001, 1);
  limiter.RecordFailure("203.0.113.7");
  EXPECT_FALSE(limiter.Allowed("203.0.113.7", nullptr));
  EXPECT_TRUE(limiter.Allowed("198.51.100.1", nullptr));
}

TEST(FailureLimiterTest, TokensComeBackAtTheRefillRate) {
  FailureLimiter limiter(/*per_second=*/1e9, /*burst=*/1);  // refilled within a nanosecond
  limiter.RecordFailure("203.0.113.7");
  limiter.RecordFailure("203.0.113.7");
  EXPECT_TRUE(limiter.Allowed("203.0.113.7", nullptr));
}

}  // namespace
}  // namespace ironflow::server
