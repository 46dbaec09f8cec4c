// Tests of the fault-injecting PKCS#11 module itself, loaded the way idsign
// loads any module (hsm::Module::Load) in front of this binary's SoftHSM2
// token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "hsm/mac.h"
#include "hsm/module.h"
#include "hsm/objects.h"
#include "hsm/token.h"
#include "service/keys/key_admin.h"
#include "service/keys/key_name.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kKey[] = "shim/test";
constexpr char kSecret[] = "shim-test-secret-0123456789abcdefghijklmn";

class FaultShimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    TestToken& test_token = TestToken::Get();  // sets SOFTHSM2_CONF first
    fault_file_ = new std::string(test_token.dir() + "/fault");
    ::setenv("IDSIGN_SHIM_TARGET", TestToken::module_path().c_str(), 1);
    ::setenv("IDSIGN_SHIM_FAULT_FILE", fault_file_->c_str(), 1);
    auto module = hsm::Module::Load(IDSIGN_TEST_FAULT_SHIM);
    ASSERT_TRUE(module.ok()) << module.status();
    hsm::TokenOptions options;
    options.read_write = true;
    const std::string& pin = test_token.pin();
    auto token =
        hsm::Token::Open(*module, test_token.label(),
                         hsm::SecretBytes(pin.data(), pin.size()), options);
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = token->release();
    hsm::SecretBytes secret(kSecret, sizeof(kSecret) - 1);
    ASSERT_THAT(keys::ImportKey(*token_, kKey, secret), IsOk());
    // Object handles stay valid while the token's anchor session is open.
    auto session = token_->Acquire();
    ASSERT_THAT(session, IsOk());
    auto handles =
        hsm::FindSecretKeysByLabel(*session, keys::ObjectLabel(kKey, 1));
    ASSERT_THAT(handles, IsOk());
    ASSERT_EQ(handles->size(), 1u);
    key_ = handles->front();
  }

  void SetUp() override { Arm(""); }
  void TearDown() override { Arm(""); }

  // Replaces the file at once (rename): a held call polling it must never
  // see it empty half-way through a rewrite.
  static void Arm(const std::string& contents) {
    const std::string temporary = *fault_file_ + ".tmp";
    std::ofstream(temporary, std::ios::trunc) << contents;
    std::filesystem::rename(temporary, *fault_file_);
  }

  hsm::Session Acquire() {
    auto session = token_->Acquire();
    EXPECT_THAT(session, IsOk());
    return std::move(*session);
  }

  // Signs "data" on a pooled session and returns the status.
  absl::Status SignOnce() {
    auto session = token_->Acquire();
    if (!session.ok()) return session.status();
    auto mac = hsm::HmacSha256(*session, key_, "data");
    if (!mac.ok()) return mac.status();
    std::string got(reinterpret_cast<const char*>(mac->data()), mac->size());
    EXPECT_EQ(got, OpenSslHmacSha256(kSecret, "data"));
    return absl::OkStatus();
  }

  // Where the shim says how many calls it holds.
  static std::string HeldFile() { return *fault_file_ + ".held"; }

  // Polls (bounded) until a call is held.
  static bool WaitUntilHeld() {
    const auto give_up =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::filesystem::exists(HeldFile())) {
      if (std::chrono::steady_clock::now() >= give_up) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  static std::string ReadHeldFile() {
    std::ifstream in(HeldFile());
    std::stringstream contents;
    contents << in.rdbuf();
    return contents.str();
  }

  static std::string* fault_file_;
  static hsm::Token* token_;
  static CK_OBJECT_HANDLE key_;
};

std::string* FaultShimTest::fault_file_ = nullptr;
hsm::Token* FaultShimTest::token_ = nullptr;
CK_OBJECT_HANDLE FaultShimTest::key_ = CK_INVALID_HANDLE;

TEST_F(FaultShimTest, PassesThroughWhenDisarmed) {
  EXPECT_THAT(SignOnce(), IsOk());
  for (const char* contents : {"", "\n", "   \n"}) {
    Arm(contents);
    EXPECT_THAT(SignOnce(), IsOk()) << "file: \"" << contents << "\"";
  }
  std::filesystem::remove(*fault_file_);
  EXPECT_THAT(SignOnce(), IsOk());
}

TEST_F(FaultShimTest, InjectsTheNamedReturnValue) {
  Arm("CKR_DEVICE_ERROR\n");
  EXPECT_THAT(SignOnce(), StatusIs(absl::StatusCode::kUnavailable,
                                   HasSubstr("CKR_DEVICE_ERROR")));
  Arm("CKR_KEY_FUNCTION_NOT_PERMITTED");
  EXPECT_THAT(SignOnce(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("CKR_KEY_FUNCTION_NOT_PERMITTED")));
}

TEST_F(FaultShimTest, AcceptsANumericReturnValue) {
  Arm("0x30");  // CKR_DEVICE_ERROR
  EXPECT_THAT(SignOnce(), StatusIs(absl::StatusCode::kUnavailable,
                                   HasSubstr("CKR_DEVICE_ERROR")));
}

TEST_F(FaultShimTest, UnknownNameInjectsGeneralError) {
  Arm("CKR_NO_SUCH_THING");
  EXPECT_THAT(SignOnce(), StatusIs(absl::StatusCode::kInternal,
                                   HasSubstr("CKR_GENERAL_ERROR")));
}

TEST_F(FaultShimTest, FaultsOnlyTheListedFunctions) {
  hsm::Session session = Acquire();
  CK_OBJECT_HANDLE key = key_;
  Arm("CKR_FUNCTION_FAILED C_Sign C_VerifyInit");
  CK_MECHANISM mechanism{CKM_SHA256_HMAC, nullptr, 0};
  CK_FUNCTION_LIST* fn = session.fn();
  EXPECT_EQ(fn->C_SignInit(session.handle(), &mechanism, key), CKR_OK);
  CK_BYTE data[] = {'d'};
  CK_BYTE mac[32];
  CK_ULONG mac_len = sizeof(mac);
  EXPECT_EQ(fn->C_Sign(session.handle(), data, 1, mac, &mac_len),
            CKR_FUNCTION_FAILED);
  EXPECT_EQ(fn->C_VerifyInit(session.handle(), &mechanism, key),
            CKR_FUNCTION_FAILED);
  CK_SESSION_INFO info;
  EXPECT_EQ(fn->C_GetSessionInfo(session.handle(), &info), CKR_OK);
  session.MarkBroken();  // a sign operation may still be active
}

TEST_F(FaultShimTest, OpenSessionCanFail) {
  Arm("CKR_TOKEN_NOT_PRESENT C_OpenSession");
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  CK_FUNCTION_LIST* fn = token_->module().fn();
  EXPECT_EQ(fn->C_OpenSession(token_->slot(), CKF_SERIAL_SESSION, nullptr,
                              nullptr, &handle),
            CKR_TOKEN_NOT_PRESENT);
  Arm("");
  ASSERT_EQ(fn->C_OpenSession(token_->slot(), CKF_SERIAL_SESSION, nullptr,
                              nullptr, &handle),
            CKR_OK);
  EXPECT_EQ(fn->C_CloseSession(handle), CKR_OK);
}

// After a session-killing fault the session stays dead, even once disarmed;
// new sessions work.
TEST_F(FaultShimTest, KilledSessionStaysDead) {
  hsm::Session session = Acquire();
  CK_OBJECT_HANDLE key = key_;
  CK_FUNCTION_LIST* fn = session.fn();
  CK_MECHANISM mechanism{CKM_SHA256_HMAC, nullptr, 0};
  Arm("CKR_DEVICE_REMOVED C_SignInit");
  EXPECT_EQ(fn->C_SignInit(session.handle(), &mechanism, key),
            CKR_DEVICE_REMOVED);
  Arm("");
  CK_SESSION_INFO info;
  EXPECT_EQ(fn->C_GetSessionInfo(session.handle(), &info),
            CKR_SESSION_HANDLE_INVALID);
  EXPECT_EQ(fn->C_SignInit(session.handle(), &mechanism, key),
            CKR_SESSION_HANDLE_INVALID);
  session.MarkBroken();
  { hsm::Session dropped = std::move(session); }
  EXPECT_THAT(SignOnce(), IsOk());
}

// A non-fatal fault leaves the session usable.
TEST_F(FaultShimTest, NonFatalFaultLeavesTheSessionAlive) {
  hsm::Session session = Acquire();
  CK_OBJECT_HANDLE key = key_;
  CK_FUNCTION_LIST* fn = session.fn();
  CK_MECHANISM mechanism{CKM_SHA256_HMAC, nullptr, 0};
  Arm("CKR_KEY_FUNCTION_NOT_PERMITTED C_SignInit");
  EXPECT_EQ(fn->C_SignInit(session.handle(), &mechanism, key),
            CKR_KEY_FUNCTION_NOT_PERMITTED);
  Arm("");
  auto mac = hsm::HmacSha256(session, key, "data");
  ASSERT_THAT(mac, IsOk());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(mac->data()), 32),
            OpenSslHmacSha256(kSecret, "data"));
}

// Another process can arm the fault: the file is read on every call.
TEST_F(FaultShimTest, AnotherProcessCanArmTheFault) {
  std::string command =
      "printf 'CKR_DEVICE_REMOVED\\n' > '" + *fault_file_ + "'";
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_THAT(SignOnce(), StatusIs(absl::StatusCode::kUnavailable,
                                   HasSubstr("CKR_DEVICE_REMOVED")));
  command = ": > '" + *fault_file_ + "'";
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_THAT(SignOnce(), IsOk());
}

// A held C_Sign waits until released, says so in the .held file, and does
// not stop other calls meanwhile.
TEST_F(FaultShimTest, HoldBlocksUntilReleased) {
  ASSERT_FALSE(std::filesystem::exists(HeldFile()));
  Arm("HOLD C_Sign");
  std::atomic<bool> done{false};
  absl::Status signed_status;
  std::thread signer([&] {
    signed_status = SignOnce();
    done = true;
  });
  const bool held = WaitUntilHeld();
  EXPECT_TRUE(held) << "no call held within 30 s";
  EXPECT_EQ(ReadHeldFile(), "1\n");
  EXPECT_FALSE(done);
  {
    hsm::Session other = Acquire();
    CK_SESSION_INFO info;
    EXPECT_EQ(other.fn()->C_GetSessionInfo(other.handle(), &info), CKR_OK);
  }
  EXPECT_FALSE(done);
  Arm("");
  signer.join();
  EXPECT_THAT(signed_status, IsOk());
  EXPECT_FALSE(std::filesystem::exists(HeldFile()));
}

// Released into another fault, the held call returns that fault.
TEST_F(FaultShimTest, ReleaseActsOnTheFaultArmedThen) {
  Arm("HOLD C_Sign");
  absl::Status signed_status;
  std::thread signer([&] { signed_status = SignOnce(); });
  EXPECT_TRUE(WaitUntilHeld()) << "no call held within 30 s";
  Arm("CKR_DEVICE_ERROR C_Sign");
  signer.join();
  EXPECT_THAT(signed_status, StatusIs(absl::StatusCode::kUnavailable,
                                      HasSubstr("CKR_DEVICE_ERROR")));
  EXPECT_FALSE(std::filesystem::exists(HeldFile()));
}

}  // namespace
}  // namespace idsign::testing
