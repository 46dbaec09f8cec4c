// CallLimiter: the per-caller token bucket on an injected clock, and the
// in-flight cap.
#include "service/call_limiter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace idsign::service {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class CallLimiterTest : public ::testing::Test {
 protected:
  CallLimiter Make(double rate, double burst, uint32_t inflight = 0) {
    return CallLimiter({.rate = rate, .burst = burst, .max_inflight = inflight},
                       [this] { return now_; });
  }
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
};

TEST_F(CallLimiterTest, BurstThenRefillAtTheRate) {
  CallLimiter limiter = Make(2, 3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.TakeToken("a").ok()) << i;
  absl::Status over = limiter.TakeToken("a");
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(over.message(),
              AllOf(HasSubstr("\"a\""), HasSubstr("2 calls per second"),
                    HasSubstr("burst 3")));
  now_ += absl::Milliseconds(499);
  EXPECT_FALSE(limiter.TakeToken("a").ok());
  now_ += absl::Milliseconds(1);
  EXPECT_TRUE(limiter.TakeToken("a").ok());
  EXPECT_FALSE(limiter.TakeToken("a").ok());
  // A long pause refills no more than the burst.
  now_ += absl::Hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.TakeToken("a").ok()) << i;
  EXPECT_FALSE(limiter.TakeToken("a").ok());
}

TEST_F(CallLimiterTest, CallersHaveTheirOwnBuckets) {
  CallLimiter limiter = Make(1, 1);
  EXPECT_TRUE(limiter.TakeToken("a").ok());
  EXPECT_FALSE(limiter.TakeToken("a").ok());
  EXPECT_TRUE(limiter.TakeToken("b").ok());
}

TEST_F(CallLimiterTest, BurstDefaultsToTheRateAndZeroRateIsOff) {
  CallLimiter limiter = Make(5, 0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.TakeToken("a").ok()) << i;
  EXPECT_FALSE(limiter.TakeToken("a").ok());
  CallLimiter off = Make(0, 0);
  EXPECT_FALSE(off.limits_rate());
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(off.TakeToken("a").ok());
}

TEST_F(CallLimiterTest, ForgetsRefilledBucketsOfManyCallers) {
  CallLimiter limiter = Make(1, 1);
  for (int i = 0; i < 5000; ++i) {
    EXPECT_TRUE(limiter.TakeToken(std::to_string(i)).ok());
  }
  EXPECT_FALSE(limiter.TakeToken("0").ok());
  now_ += absl::Seconds(2);
  EXPECT_TRUE(limiter.TakeToken("0").ok());
  EXPECT_FALSE(limiter.TakeToken("0").ok());
}

TEST_F(CallLimiterTest, InflightCap) {
  CallLimiter limiter = Make(0, 0, 2);
  EXPECT_TRUE(limiter.Enter().ok());
  EXPECT_TRUE(limiter.Enter().ok());
  absl::Status full = limiter.Enter();
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr("2 calls in flight"));
  limiter.Exit();
  EXPECT_TRUE(limiter.Enter().ok());
  limiter.Exit();
  limiter.Exit();
  CallLimiter uncapped = Make(0, 0, 0);
  for (int i = 0; i < 5000; ++i) EXPECT_TRUE(uncapped.Enter().ok());
}

}  // namespace
}  // namespace idsign::service
