// Key rings in the token: created with the key, sealed by the ring key, and
// refused when anyone changes them, or the key objects they vouch for,
// behind idsign's back.
#include "service/keys/ring.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "service/keys/hsm_key_store.h"
#include "service/keys/key_admin.h"
#include "service/keys/key_name.h"
#include "tests/integration/keys/keys_test_util.h"
#include "tests/integration/keys/raw_pkcs11.h"
#include "tests/integration/keys/ring_test_util.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::keys {
namespace {

using ::idsign::keys::test::AddRingObject;
using ::idsign::keys::test::AsString;
using ::idsign::keys::test::FlipLastByte;
using ::idsign::keys::test::RawBoolOf;
using ::idsign::keys::test::RawBytes;
using ::idsign::keys::test::RawDestroy;
using ::idsign::keys::test::RawFind;
using ::idsign::keys::test::RawSession;
using ::idsign::keys::test::ReplaceRing;
using ::idsign::keys::test::RingObjects;
using ::idsign::keys::test::RingValue;
using ::idsign::keys::test::Secret;
using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslHmacSha256;
using ::idsign::testing::OpenSslSha1;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::HasSubstr;
using ::testing::Optional;

constexpr absl::StatusCode kRefused = absl::StatusCode::kFailedPrecondition;

class RingTest : public ::testing::Test {
 protected:
  void SetUp() override { token_ = TestToken::Get().Open(); }

  KeyEntry Entry(const std::string& name) {
    auto catalog = ReadCatalog(*token_);
    EXPECT_THAT(catalog, IsOk());
    if (!catalog.ok() || catalog->keys.count(name) == 0) {
      ADD_FAILURE() << name << " is not in the catalog";
      return {};
    }
    return catalog->keys.at(name);
  }

  // Sign through a store created now, as a freshly started server would.
  absl::StatusOr<MacResult> FreshSign(const std::string& name,
                                      const std::string& data) {
    auto store = HsmKeyStore::Create(token_.get());
    if (!store.ok()) return store.status();
    return (*store)->Sign(name, data);
  }

  std::unique_ptr<hsm::Token> token_;
};

TEST_F(RingTest, ImportCreatesASealedRing) {
  const std::string secret = "ring-created-secret-0123456789abc";
  auto created =
      ImportKey(*token_, "ring/created", Secret(secret), "alice@admin-host");
  ASSERT_THAT(created, IsOk());

  std::optional<hsm::Session> session = RawSession(*token_);
  ASSERT_TRUE(session.has_value());
  std::vector<CK_OBJECT_HANDLE> rings =
      RawFind(*session, CKO_DATA, "idsign-ring:ring/created");
  ASSERT_EQ(rings.size(), 1u);
  EXPECT_THAT(RawBoolOf(*session, rings[0], CKA_TOKEN), Optional(true));
  EXPECT_THAT(RawBoolOf(*session, rings[0], CKA_PRIVATE), Optional(true));
  EXPECT_THAT(RawBytes(*session, rings[0], CKA_APPLICATION),
              Optional(std::string("idsign")));

  std::optional<std::string> stored = RawBytes(*session, rings[0], CKA_VALUE);
  ASSERT_TRUE(stored.has_value());
  ring::Sealed sealed;
  ASSERT_TRUE(sealed.ParseFromString(*stored));
  ring::State state;
  ASSERT_TRUE(state.ParseFromString(sealed.state()));
  EXPECT_EQ(state.name(), "ring/created");
  EXPECT_EQ(state.primary_version(), 1u);
  EXPECT_EQ(state.min_verify_version(), 1u);
  EXPECT_EQ(state.generation(), 1u);
  EXPECT_EQ(state.updated_by(), "alice@admin-host");
  ASSERT_EQ(state.versions_size(), 1);
  const ring::Version& v1 = state.versions(0);
  EXPECT_EQ(v1.version(), 1u);
  EXPECT_EQ(v1.state(), ring::VERSION_STATE_ENABLED);
  EXPECT_EQ(v1.object_id(), created->object_id);
  EXPECT_EQ(v1.check_value(), OpenSslSha1(secret).substr(0, 3));
  EXPECT_EQ(v1.origin(), ring::ORIGIN_IMPORTED);
  EXPECT_EQ(v1.scheme(), "hmac-sha256");
  EXPECT_EQ(v1.created_by(), "alice@admin-host");

  // The seal is the documented HMAC, checked here with raw C_Verify under
  // the ring key, which is itself locked down.
  std::vector<CK_OBJECT_HANDLE> ring_keys =
      RawFind(*session, CKO_SECRET_KEY, kRingMacKeyLabel);
  ASSERT_EQ(ring_keys.size(), 1u);
  EXPECT_THAT(RawBoolOf(*session, ring_keys[0], CKA_SENSITIVE), Optional(true));
  EXPECT_THAT(RawBoolOf(*session, ring_keys[0], CKA_EXTRACTABLE),
              Optional(false));
  EXPECT_THAT(RawBoolOf(*session, ring_keys[0], CKA_MODIFIABLE),
              Optional(false));
  std::string input = std::string("idsign-ring-v1") + '\0' + "ring/created" +
                      '\0' + sealed.state();
  CK_FUNCTION_LIST* fn = session->fn();
  CK_MECHANISM mechanism{CKM_SHA256_HMAC, nullptr, 0};
  for (const std::string& mac : {sealed.mac(), FlipLastByte(sealed.mac())}) {
    ASSERT_EQ(fn->C_VerifyInit(session->handle(), &mechanism, ring_keys[0]),
              CKR_OK);
    std::string data = input;
    std::string signature = mac;
    EXPECT_EQ(
        fn->C_Verify(session->handle(), reinterpret_cast<CK_BYTE*>(data.data()),
                     data.size(), reinterpret_cast<CK_BYTE*>(signature.data()),
                     signature.size()),
        mac == sealed.mac() ? CKR_OK : CKR_SIGNATURE_INVALID);
  }

  auto ring_key = FindRingKey(*session);
  ASSERT_THAT(ring_key, IsOk());
  auto unsealed =
      Unseal(*session, *ring_key, {rings[0], "ring/created", *stored});
  ASSERT_THAT(unsealed, IsOk());
  EXPECT_EQ(unsealed->SerializeAsString(), state.SerializeAsString());
  EXPECT_EQ(Entry("ring/created").problem, "");
}

TEST_F(RingTest, FlippedByteIsTampering) {
  const std::string secret = "flipped-byte-secret-0123456789ab";
  ASSERT_THAT(ImportKey(*token_, "ring/flipped", Secret(secret)), IsOk());
  const std::string original = RingValue(*token_, "ring/flipped");
  ReplaceRing(*token_, "ring/flipped", FlipLastByte(original));

  EXPECT_THAT(Entry("ring/flipped").problem, HasSubstr("tampered"));
  EXPECT_THAT(FreshSign("ring/flipped", "u"),
              StatusIs(kRefused, HasSubstr("tampered")));
  // Administration refuses to build on a tampered ring, and creates nothing.
  const hsm::SecretBytes next = Secret(std::string(32, 'n'));
  EXPECT_THAT(RotateKey(*token_, "ring/flipped", {&next}, true),
              StatusIs(kRefused, HasSubstr("tampered")));
  EXPECT_THAT(test::ObjectsLabelled(*token_, ObjectLabel("ring/flipped", 2)),
              ::testing::IsEmpty());

  // Control: the original bytes are accepted again.
  ReplaceRing(*token_, "ring/flipped", original);
  auto signed_again = FreshSign("ring/flipped", "u");
  ASSERT_THAT(signed_again, IsOk());
  EXPECT_EQ(AsString(signed_again->mac), OpenSslHmacSha256(secret, "u"));
}

TEST_F(RingTest, EditedStateUnderTheOldSealIsTampering) {
  ASSERT_THAT(ImportKey(*token_, "ring/edited", Secret(std::string(32, '1'))),
              IsOk());
  const hsm::SecretBytes v2 = Secret(std::string(32, '2'));
  ASSERT_THAT(RotateKey(*token_, "ring/edited", {&v2}, false), IsOk());
  ASSERT_THAT(DisableVersion(*token_, "ring/edited", 2), IsOk());

  ring::Sealed sealed;
  ASSERT_TRUE(sealed.ParseFromString(RingValue(*token_, "ring/edited")));
  ring::State state;
  ASSERT_TRUE(state.ParseFromString(sealed.state()));
  ASSERT_EQ(state.versions_size(), 2);
  // Re-enable version 2 and make it primary, keeping the old MAC.
  state.mutable_versions(1)->set_state(ring::VERSION_STATE_ENABLED);
  state.set_primary_version(2);
  sealed.set_state(state.SerializeAsString());
  ReplaceRing(*token_, "ring/edited", sealed.SerializeAsString());

  KeyEntry entry = Entry("ring/edited");
  EXPECT_THAT(entry.problem, HasSubstr("seal does not verify"));
  EXPECT_NE(entry.primary_version, 2u);
  EXPECT_THAT(FreshSign("ring/edited", "u"),
              StatusIs(kRefused, HasSubstr("tampered")));
}

TEST_F(RingTest, RingOfAnotherKeyIsRefused) {
  ASSERT_THAT(ImportKey(*token_, "ring/victim", Secret(std::string(32, 'v'))),
              IsOk());
  const std::string donor_secret(32, 'd');
  ASSERT_THAT(ImportKey(*token_, "ring/donor", Secret(donor_secret)), IsOk());
  ReplaceRing(*token_, "ring/victim", RingValue(*token_, "ring/donor"));

  EXPECT_THAT(Entry("ring/victim").problem, HasSubstr("tampered"));
  EXPECT_THAT(FreshSign("ring/victim", "u"),
              StatusIs(kRefused, HasSubstr("tampered")));
  // The donor is untouched.
  EXPECT_EQ(Entry("ring/donor").problem, "");
  auto donor = FreshSign("ring/donor", "u");
  ASSERT_THAT(donor, IsOk());
  EXPECT_EQ(AsString(donor->mac), OpenSslHmacSha256(donor_secret, "u"));
}

// The ring binds each version to its object's CKA_ID and check value. A new
// object under the old label is refused whether it copies the secret (new
// CKA_ID) or the CKA_ID (new secret). The replacements carry idsign's own
// locked-down attributes, so the custody policy is not what refuses them.
TEST_F(RingTest, KeyObjectReplacedBehindIdsignsBackIsRefused) {
  const std::string secret = "replaced-object-secret-012345678";
  struct Case {
    std::string name;
    bool keep_id;
    std::string new_secret;
  };
  for (const Case& c : {Case{"ring/replaced-same-secret", false, secret},
                        Case{"ring/replaced-same-id", true,
                             "another-secret-0123456789abcdefgh"}}) {
    SCOPED_TRACE(c.name);
    auto created = ImportKey(*token_, c.name, Secret(secret));
    ASSERT_THAT(created, IsOk());
    ASSERT_THAT(FreshSign(c.name, "u"), IsOk());
    {
      std::optional<hsm::Session> session = RawSession(*token_);
      ASSERT_TRUE(session.has_value());
      std::vector<CK_OBJECT_HANDLE> objects =
          RawFind(*session, CKO_SECRET_KEY, created->label);
      ASSERT_EQ(objects.size(), 1u);
      ASSERT_EQ(RawDestroy(*session, objects[0]), CKR_OK);
      ASSERT_THAT(
          hsm::ImportHmacKey(
              *session,
              {created->label, c.keep_id ? created->object_id : "intruder"},
              Secret(c.new_secret)),
          IsOk());
    }
    EXPECT_THAT(Entry(c.name).problem,
                HasSubstr("replaced behind idsign's back"));
    EXPECT_THAT(FreshSign(c.name, "u"),
                StatusIs(kRefused, HasSubstr("replaced behind idsign's back")));
  }
}

// Two rings whose seals verify (e.g. a clean-up that failed half way): the
// higher generation is the key's state, in whichever order the objects were
// created. A forged extra object does not change that, and the next change
// removes the superseded objects.
TEST_F(RingTest, HigherGenerationWins) {
  const std::string name = "ring/generations";
  const std::string v2_secret(32, '2');
  ASSERT_THAT(ImportKey(*token_, name, Secret(std::string(32, '1'))), IsOk());
  const hsm::SecretBytes v2 = Secret(v2_secret);
  ASSERT_THAT(RotateKey(*token_, name, {&v2}, false), IsOk());
  const std::string older = RingValue(*token_, name);  // generation 2
  ASSERT_THAT(PromoteVersion(*token_, name, 2), IsOk());
  const std::string newer = RingValue(*token_, name);  // generation 3

  for (bool newer_first : {true, false}) {
    SCOPED_TRACE(newer_first ? "newer created first" : "older created first");
    ReplaceRing(*token_, name, newer_first ? newer : older);
    AddRingObject(*token_, name, newer_first ? older : newer);
    AddRingObject(*token_, name, FlipLastByte(older));
    ASSERT_EQ(RingObjects(*token_, name).size(), 3u);

    KeyEntry entry = Entry(name);
    EXPECT_EQ(entry.problem, "");
    EXPECT_EQ(entry.generation, 3u);
    EXPECT_EQ(entry.primary_version, 2u);
    auto mac = FreshSign(name, "u");
    ASSERT_THAT(mac, IsOk());
    EXPECT_EQ(mac->version, 2u);
    EXPECT_EQ(AsString(mac->mac), OpenSslHmacSha256(v2_secret, "u"));
  }

  ASSERT_THAT(SetMinVerifyVersion(*token_, name, 2), IsOk());
  EXPECT_EQ(RingObjects(*token_, name).size(), 1u);
  KeyEntry entry = Entry(name);
  EXPECT_EQ(entry.generation, 4u);
  EXPECT_EQ(entry.min_verify_version, 2u);
}

// A previous ring object that cannot be destroyed (CKA_DESTROYABLE false, as
// a PIN holder may set on a copy) does not undo a change whose new ring is
// already written: the higher generation rules, and the key stays usable.
TEST_F(RingTest, UndeletableOldRingDoesNotUndoACommittedChange) {
  const std::string name = "ring/undeletable";
  const std::string v2_secret = "undeletable-v2-secret-0123456789a";
  ASSERT_THAT(ImportKey(*token_, name, Secret(std::string(32, '1'))), IsOk());
  {
    std::optional<hsm::Session> session = RawSession(*token_);
    ASSERT_TRUE(session.has_value());
    std::vector<CK_OBJECT_HANDLE> rings =
        RawFind(*session, CKO_DATA, RingLabel(name));
    ASSERT_EQ(rings.size(), 1u);
    std::string value = RawBytes(*session, rings[0], CKA_VALUE).value_or("");
    std::string application = kRingApplication;
    std::string label = RingLabel(name);
    CK_OBJECT_CLASS klass = CKO_DATA;
    std::vector<CK_ATTRIBUTE> tmpl = {
        {CKA_CLASS, &klass, sizeof(klass)},
        test::RawBool(CKA_TOKEN, true),
        test::RawBool(CKA_PRIVATE, true),
        test::RawBool(CKA_DESTROYABLE, false),
        test::RawText(CKA_APPLICATION, application),
        test::RawText(CKA_LABEL, label),
        test::RawText(CKA_VALUE, value)};
    CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;
    ASSERT_EQ(session->fn()->C_CreateObject(session->handle(), tmpl.data(),
                                            tmpl.size(), &copy),
              CKR_OK);
    ASSERT_EQ(RawDestroy(*session, rings[0]), CKR_OK);
    ASSERT_EQ(RawDestroy(*session, copy), CKR_ACTION_PROHIBITED);
  }

  const hsm::SecretBytes v2 = Secret(v2_secret);
  auto rotated = RotateKey(*token_, name, {&v2}, /*make_primary=*/true);
  ASSERT_THAT(rotated, IsOk());
  EXPECT_EQ(test::ObjectsLabelled(*token_, rotated->label).size(), 1u);
  EXPECT_EQ(RingObjects(*token_, name).size(), 2u);
  KeyEntry entry = Entry(name);
  EXPECT_EQ(entry.problem, "");
  EXPECT_EQ(entry.generation, 2u);
  EXPECT_EQ(entry.primary_version, 2u);
  auto mac = FreshSign(name, "u");
  ASSERT_THAT(mac, IsOk());
  EXPECT_EQ(mac->version, 2u);
  EXPECT_EQ(AsString(mac->mac), OpenSslHmacSha256(v2_secret, "u"));
}

}  // namespace
}  // namespace idsign::keys
