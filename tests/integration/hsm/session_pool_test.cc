// SessionPool against real SoftHSM2 sessions: capacity, reuse, and the
// closing of sessions marked broken.
#include "hsm/session_pool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "hsm/ckr.h"
#include "hsm/token.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::hsm {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::HasSubstr;

constexpr absl::Duration kShortWait = absl::Milliseconds(50);

class SessionPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    module_ = TestToken::Get().module();
    auto slot = module_->FindSlot(TestToken::Get().label());
    ASSERT_THAT(slot, IsOk());
    slot_ = *slot;
  }

  // C_GetSessionInfo straight on the module, bypassing the pool.
  CK_RV SessionInfo(CK_SESSION_HANDLE handle, CK_SESSION_INFO* info = nullptr) {
    CK_SESSION_INFO ignored;
    return module_->fn()->C_GetSessionInfo(handle,
                                           info != nullptr ? info : &ignored);
  }

  std::shared_ptr<Module> module_;
  CK_SLOT_ID slot_ = 0;
};

TEST_F(SessionPoolTest, OpensLazily) {
  SessionPool pool(module_, slot_, 0, 3);
  EXPECT_EQ(pool.capacity(), 3u);
  EXPECT_EQ(pool.open_sessions(), 0u);
  auto session = pool.Acquire(kShortWait);
  ASSERT_THAT(session, IsOk());
  EXPECT_EQ(pool.open_sessions(), 1u);
  EXPECT_EQ(SessionInfo(session->handle()), CKR_OK);
}

TEST_F(SessionPoolTest, CapacityOneRefusesASecondBorrower) {
  SessionPool pool(module_, slot_, 0, 1);
  {
    auto first = pool.Acquire(kShortWait);
    ASSERT_THAT(first, IsOk());
    auto second = pool.Acquire(kShortWait);
    EXPECT_THAT(second, StatusIs(absl::StatusCode::kResourceExhausted,
                                 HasSubstr("all 1 HSM sessions")));
    EXPECT_EQ(pool.open_sessions(), 1u);
  }
  // Once the first comes back, the next borrower gets it.
  auto third = pool.Acquire(kShortWait);
  EXPECT_THAT(third, IsOk());
}

TEST_F(SessionPoolTest, CapacityIsTheLimitOfOpenSessions) {
  SessionPool pool(module_, slot_, 0, 3);
  std::vector<Session> held;
  for (int i = 0; i < 3; ++i) {
    auto session = pool.Acquire(kShortWait);
    ASSERT_THAT(session, IsOk());
    held.push_back(std::move(*session));
  }
  EXPECT_EQ(pool.open_sessions(), 3u);
  EXPECT_THAT(pool.Acquire(kShortWait),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // Three distinct, live sessions.
  EXPECT_NE(held[0].handle(), held[1].handle());
  EXPECT_NE(held[1].handle(), held[2].handle());
  EXPECT_NE(held[0].handle(), held[2].handle());
  for (const Session& session : held) {
    EXPECT_EQ(SessionInfo(session.handle()), CKR_OK);
  }
}

TEST_F(SessionPoolTest, ZeroCapacityMeansOne) {
  SessionPool pool(module_, slot_, 0, 0);
  EXPECT_EQ(pool.capacity(), 1u);
  auto first = pool.Acquire(kShortWait);
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(pool.Acquire(kShortWait),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(SessionPoolTest, ReturnedSessionIsReused) {
  SessionPool pool(module_, slot_, 0, 2);
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  {
    auto session = pool.Acquire(kShortWait);
    ASSERT_THAT(session, IsOk());
    handle = session->handle();
  }
  EXPECT_EQ(pool.open_sessions(), 1u);
  EXPECT_EQ(SessionInfo(handle), CKR_OK);  // returned, not closed
  auto again = pool.Acquire(kShortWait);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->handle(), handle);
  EXPECT_EQ(pool.open_sessions(), 1u);
}

TEST_F(SessionPoolTest, MovedSessionReturnsOnce) {
  SessionPool pool(module_, slot_, 0, 1);
  {
    auto session = pool.Acquire(kShortWait);
    ASSERT_THAT(session, IsOk());
    Session moved = std::move(*session);
    Session assigned = std::move(moved);
    EXPECT_NE(assigned.handle(),
              static_cast<CK_SESSION_HANDLE>(CK_INVALID_HANDLE));
  }
  EXPECT_EQ(pool.open_sessions(), 1u);
  auto first = pool.Acquire(kShortWait);
  ASSERT_THAT(first, IsOk());
  // Had the session been returned twice, the pool would hand it out twice.
  EXPECT_THAT(pool.Acquire(kShortWait),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(SessionPoolTest, BrokenSessionIsClosedAndNotHandedOutAgain) {
  SessionPool pool(module_, slot_, 0, 1);
  CK_SESSION_HANDLE broken = CK_INVALID_HANDLE;
  {
    auto session = pool.Acquire(kShortWait);
    ASSERT_THAT(session, IsOk());
    broken = session->handle();
    session->MarkBroken();
    EXPECT_TRUE(session->broken());
  }
  EXPECT_EQ(pool.open_sessions(), 0u);
  EXPECT_EQ(SessionInfo(broken), CKR_SESSION_HANDLE_INVALID);

  // Take the old handle number, should the module reuse numbers, so that a
  // pool handing out the closed handle again would be caught.
  CK_SESSION_HANDLE outsider = CK_INVALID_HANDLE;
  ASSERT_EQ(module_->fn()->C_OpenSession(slot_, CKF_SERIAL_SESSION, nullptr,
                                         nullptr, &outsider),
            CKR_OK);
  {
    auto next = pool.Acquire(kShortWait);
    EXPECT_THAT(next, IsOk());
    if (next.ok()) {
      EXPECT_NE(next->handle(), outsider);
      EXPECT_EQ(SessionInfo(next->handle()), CKR_OK);
    }
    EXPECT_EQ(pool.open_sessions(), 1u);
  }
  EXPECT_EQ(module_->fn()->C_CloseSession(outsider), CKR_OK);
}

TEST_F(SessionPoolTest, SessionFatalErrorMarksBroken) {
  SessionPool pool(module_, slot_, 0, 1);
  auto session = pool.Acquire(kShortWait);
  ASSERT_THAT(session, IsOk());
  EXPECT_THAT(session->Check("C_Sign", CKR_OK), IsOk());
  EXPECT_FALSE(session->broken());
  EXPECT_THAT(session->Check("C_SignInit", CKR_KEY_HANDLE_INVALID),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(session->broken());
  EXPECT_THAT(
      session->Check("C_Sign", CKR_DEVICE_REMOVED),
      StatusIs(absl::StatusCode::kUnavailable, "C_Sign: CKR_DEVICE_REMOVED"));
  EXPECT_TRUE(session->broken());
}

TEST_F(SessionPoolTest, SessionClosedBehindThePoolIsDiscarded) {
  SessionPool pool(module_, slot_, 0, 1);
  {
    auto session = pool.Acquire(kShortWait);
    ASSERT_THAT(session, IsOk());
    ASSERT_EQ(module_->fn()->C_CloseSession(session->handle()), CKR_OK);
    CK_SESSION_INFO info;
    absl::Status status = session->Check(
        "C_GetSessionInfo",
        session->fn()->C_GetSessionInfo(session->handle(), &info));
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable,
                                 HasSubstr("CKR_SESSION_HANDLE_INVALID")));
    EXPECT_TRUE(session->broken());
  }
  EXPECT_EQ(pool.open_sessions(), 0u);
  auto fresh = pool.Acquire(kShortWait);
  ASSERT_THAT(fresh, IsOk());
  EXPECT_EQ(SessionInfo(fresh->handle()), CKR_OK);
}

TEST_F(SessionPoolTest, CloseIdleClosesOnlyIdleSessions) {
  SessionPool pool(module_, slot_, 0, 2);
  auto held = pool.Acquire(kShortWait);
  ASSERT_THAT(held, IsOk());
  CK_SESSION_HANDLE idle = CK_INVALID_HANDLE;
  {
    auto session = pool.Acquire(kShortWait);
    ASSERT_THAT(session, IsOk());
    idle = session->handle();
  }
  EXPECT_EQ(pool.open_sessions(), 2u);
  pool.CloseIdle();
  EXPECT_EQ(pool.open_sessions(), 1u);
  EXPECT_EQ(SessionInfo(idle), CKR_SESSION_HANDLE_INVALID);
  EXPECT_EQ(SessionInfo(held->handle()), CKR_OK);
}

TEST_F(SessionPoolTest, ReadWriteFlagIsPassedToTheToken) {
  SessionPool read_only(module_, slot_, 0, 1);
  SessionPool read_write(module_, slot_, CKF_RW_SESSION, 1);
  auto ro = read_only.Acquire(kShortWait);
  auto rw = read_write.Acquire(kShortWait);
  ASSERT_THAT(ro, IsOk());
  ASSERT_THAT(rw, IsOk());
  CK_SESSION_INFO info;
  ASSERT_EQ(SessionInfo(ro->handle(), &info), CKR_OK);
  EXPECT_EQ(info.flags & CKF_RW_SESSION, 0u);
  EXPECT_NE(info.flags & CKF_SERIAL_SESSION, 0u);
  ASSERT_EQ(SessionInfo(rw->handle(), &info), CKR_OK);
  EXPECT_NE(info.flags & CKF_RW_SESSION, 0u);
}

}  // namespace
}  // namespace idsign::hsm
