// Rollout decisions by mode and reason, and the per-key counters under
// concurrent use.
#include "service/rollout.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace idsign::service {
namespace {

using keys::RolloutMode;

TEST(DecideTest, ValidIsAlwaysAllowed) {
  EXPECT_EQ(Decide(v1::VERIFY_REASON_VALID, RolloutMode::kEnforce),
            v1::DECISION_ALLOW);
  EXPECT_EQ(Decide(v1::VERIFY_REASON_VALID, RolloutMode::kMonitor),
            v1::DECISION_ALLOW);
}

TEST(DecideTest, MonitorAllowsInvalidAndMissing) {
  EXPECT_EQ(Decide(v1::VERIFY_REASON_INVALID, RolloutMode::kMonitor),
            v1::DECISION_ALLOW);
  EXPECT_EQ(Decide(v1::VERIFY_REASON_MISSING, RolloutMode::kMonitor),
            v1::DECISION_ALLOW);
}

TEST(DecideTest, EnforceDeniesInvalidAndMissing) {
  EXPECT_EQ(Decide(v1::VERIFY_REASON_INVALID, RolloutMode::kEnforce),
            v1::DECISION_DENY);
  EXPECT_EQ(Decide(v1::VERIFY_REASON_MISSING, RolloutMode::kEnforce),
            v1::DECISION_DENY);
}

TEST(DecideTest, ModesMapToTheApi) {
  EXPECT_EQ(ToProto(RolloutMode::kMonitor), v1::ROLLOUT_MODE_MONITOR);
  EXPECT_EQ(ToProto(RolloutMode::kEnforce), v1::ROLLOUT_MODE_ENFORCE);
}

v1::KeyRolloutStatus Read(const RolloutCounters& counters,
                          const std::string& key) {
  v1::KeyRolloutStatus status;
  counters.Read(key, &status);
  return status;
}

TEST(RolloutCountersTest, CountsPerKeyAndKind) {
  RolloutCounters counters;
  counters.Record("a", VerifiedKind::kUserHash, v1::VERIFY_REASON_VALID,
                  v1::DECISION_ALLOW);
  counters.Record("a", VerifiedKind::kUserHash, v1::VERIFY_REASON_INVALID,
                  v1::DECISION_DENY);
  counters.Record("a", VerifiedKind::kUserHash, v1::VERIFY_REASON_MISSING,
                  v1::DECISION_ALLOW);
  counters.Record("a", VerifiedKind::kJwt, v1::VERIFY_REASON_MISSING,
                  v1::DECISION_DENY);
  counters.Record("b", VerifiedKind::kJwt, v1::VERIFY_REASON_VALID,
                  v1::DECISION_ALLOW);
  const v1::KeyRolloutStatus a = Read(counters, "a");
  EXPECT_EQ(a.user_hash().valid(), 1u);
  EXPECT_EQ(a.user_hash().invalid(), 1u);
  EXPECT_EQ(a.user_hash().missing(), 1u);
  EXPECT_EQ(a.user_hash().denied(), 1u);
  EXPECT_EQ(a.jwt().valid(), 0u);
  EXPECT_EQ(a.jwt().missing(), 1u);
  EXPECT_EQ(a.jwt().denied(), 1u);
  const v1::KeyRolloutStatus b = Read(counters, "b");
  EXPECT_EQ(b.jwt().valid(), 1u);
  EXPECT_EQ(b.user_hash().valid(), 0u);
  const v1::KeyRolloutStatus none = Read(counters, "never");
  EXPECT_TRUE(none.has_user_hash());
  EXPECT_EQ(none.user_hash().valid() + none.jwt().valid(), 0u);
}

TEST(RolloutCountersTest, KeysBeyondTheCapAreNotCounted) {
  RolloutCounters counters(/*max_keys=*/2);
  for (const char* key : {"a", "b", "c", "a"}) {
    counters.Record(key, VerifiedKind::kUserHash, v1::VERIFY_REASON_VALID,
                    v1::DECISION_ALLOW);
  }
  EXPECT_EQ(Read(counters, "a").user_hash().valid(), 2u);
  EXPECT_EQ(Read(counters, "b").user_hash().valid(), 1u);
  EXPECT_EQ(Read(counters, "c").user_hash().valid(), 0u);
}

TEST(RolloutCountersTest, ConcurrentRecordsAreAllCounted) {
  RolloutCounters counters;
  constexpr int kThreads = 4;
  constexpr int kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&counters, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string key = "k" + std::to_string(i % 8);
        counters.Record(
            key, t % 2 == 0 ? VerifiedKind::kJwt : VerifiedKind::kUserHash,
            v1::VERIFY_REASON_INVALID, v1::DECISION_DENY);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  uint64_t total = 0;
  for (int k = 0; k < 8; ++k) {
    const v1::KeyRolloutStatus status = Read(counters, "k" + std::to_string(k));
    total += status.user_hash().invalid() + status.jwt().invalid();
    EXPECT_EQ(status.user_hash().denied(), status.user_hash().invalid());
  }
  EXPECT_EQ(total, static_cast<uint64_t>(kThreads * kEach));
}

}  // namespace
}  // namespace idsign::service
