// Losing the ring key: every ring on the token becomes unverifiable, so every
// key is refused. A binary of its own, because the loss cannot be undone on
// the token this binary shares between its tests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "service/keys/hsm_key_store.h"
#include "service/keys/key_admin.h"
#include "service/keys/ring.h"
#include "tests/integration/keys/keys_test_util.h"
#include "tests/integration/keys/raw_pkcs11.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::keys {
namespace {

using ::idsign::keys::test::AsString;
using ::idsign::keys::test::RawDestroy;
using ::idsign::keys::test::RawFind;
using ::idsign::keys::test::RawSession;
using ::idsign::keys::test::Secret;
using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslHmacSha256;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::StatusCode kRefused = absl::StatusCode::kFailedPrecondition;

size_t RingKeyCount(hsm::Token& token) {
  std::optional<hsm::Session> session = RawSession(token);
  return session ? RawFind(*session, CKO_SECRET_KEY, kRingMacKeyLabel).size()
                 : 0;
}

TEST(RingKeyLossTest, EveryKeyIsRefusedAndNoNewRingKeyIsMade) {
  std::unique_ptr<hsm::Token> admin = TestToken::Get().Open();
  std::unique_ptr<hsm::Token> server = TestToken::Get().Open(false);
  const std::string secret = "ring-key-loss-secret-0123456789ab";
  ASSERT_THAT(ImportKey(*admin, "loss/imported", Secret(secret)), IsOk());
  ASSERT_THAT(GenerateKey(*admin, "loss/generated", 32), IsOk());
  auto running = HsmKeyStore::Create(server.get());
  ASSERT_THAT(running, IsOk());
  ASSERT_THAT((*running)->Sign("loss/imported", "u"), IsOk());

  {
    std::optional<hsm::Session> session = RawSession(*admin);
    ASSERT_TRUE(session.has_value());
    std::vector<CK_OBJECT_HANDLE> ring_keys =
        RawFind(*session, CKO_SECRET_KEY, kRingMacKeyLabel);
    ASSERT_EQ(ring_keys.size(), 1u);
    ASSERT_EQ(RawDestroy(*session, ring_keys[0]), CKR_OK);
  }

  auto catalog = ReadCatalog(*admin);
  ASSERT_THAT(catalog, IsOk());
  for (const std::string name : {"loss/imported", "loss/generated"}) {
    ASSERT_EQ(catalog->keys.count(name), 1u) << name;
    EXPECT_THAT(catalog->keys.at(name).problem,
                HasSubstr("no ring key (idsign-system:ring-mac:v1)"))
        << name;
  }
  auto fresh = HsmKeyStore::Create(server.get());
  ASSERT_THAT(fresh, IsOk());
  for (const std::string name : {"loss/imported", "loss/generated"}) {
    EXPECT_THAT((*fresh)->Sign(name, "u"),
                StatusIs(kRefused, HasSubstr("ring key")))
        << name;
  }

  // A running server keeps the last good state: its key objects are intact.
  ASSERT_THAT((*running)->Reload(), IsOk());
  auto still = (*running)->Sign("loss/imported", "u");
  ASSERT_THAT(still, IsOk());
  EXPECT_EQ(AsString(still->mac), OpenSslHmacSha256(secret, "u"));

  // Administration refuses rather than sealing with a new ring key, which
  // would make every old ring look tampered with.
  const hsm::SecretBytes next = Secret(std::string(32, 'n'));
  EXPECT_THAT(RotateKey(*admin, "loss/imported", {&next}, false),
              StatusIs(kRefused, HasSubstr("not the ring key")));
  EXPECT_THAT(ImportKey(*admin, "loss/new", Secret(std::string(32, 'w'))),
              StatusIs(kRefused, HasSubstr("not the ring key")));
  EXPECT_EQ(RingKeyCount(*admin), 0u);
  catalog = ReadCatalog(*admin);
  ASSERT_THAT(catalog, IsOk());
  EXPECT_EQ(catalog->keys.count("loss/new"), 0u);
  EXPECT_THAT(catalog->keys.at("loss/imported").problem,
              Not(HasSubstr("tampered")));
}

}  // namespace
}  // namespace idsign::keys
