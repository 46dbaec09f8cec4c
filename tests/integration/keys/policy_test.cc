// The custody policy: PolicyViolations on hand-built attribute sets, and
// HsmKeyStore refusing weak keys made behind idsign's back with raw PKCS#11
// and with pkcs11-tool.
#include "service/keys/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/keys/hsm_key_store.h"
#include "service/keys/key_admin.h"
#include "service/keys/key_name.h"
#include "service/keys/ring.h"
#include "tests/integration/keys/keys_test_util.h"
#include "tests/integration/keys/raw_pkcs11.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::keys {
namespace {

using ::idsign::keys::test::Bytes;
using ::idsign::keys::test::RawBoolOf;
using ::idsign::keys::test::RawBytes;
using ::idsign::keys::test::RawCreateKey;
using ::idsign::keys::test::RawDestroy;
using ::idsign::keys::test::RawFind;
using ::idsign::keys::test::RawSession;
using ::idsign::keys::test::Secret;
using ::idsign::keys::test::WeakKeySpec;
using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr absl::StatusCode kRefused = absl::StatusCode::kFailedPrecondition;

// What ImportKey and GenerateKey create.
hsm::SecretKeyInfo LockedDown() {
  hsm::SecretKeyInfo info;
  info.label = "idsign:policy/unit:v1";
  info.token = info.is_private = info.sensitive = info.always_sensitive = true;
  info.never_extractable = info.local = info.sign = info.verify = true;
  info.extractable = info.modifiable = info.copyable = false;
  info.encrypt = info.decrypt = info.wrap = info.unwrap = info.derive = false;
  return info;
}

struct Rule {
  std::optional<bool> hsm::SecretKeyInfo::*field;
  CK_ATTRIBUTE_TYPE type;
  const char* attribute;
  bool required;
};

const Rule kRules[] = {
    {&hsm::SecretKeyInfo::sensitive, CKA_SENSITIVE, "CKA_SENSITIVE", true},
    {&hsm::SecretKeyInfo::extractable, CKA_EXTRACTABLE, "CKA_EXTRACTABLE",
     false},
    {&hsm::SecretKeyInfo::modifiable, CKA_MODIFIABLE, "CKA_MODIFIABLE", false},
    {&hsm::SecretKeyInfo::derive, CKA_DERIVE, "CKA_DERIVE", false},
    {&hsm::SecretKeyInfo::encrypt, CKA_ENCRYPT, "CKA_ENCRYPT", false},
    {&hsm::SecretKeyInfo::decrypt, CKA_DECRYPT, "CKA_DECRYPT", false},
    {&hsm::SecretKeyInfo::wrap, CKA_WRAP, "CKA_WRAP", false},
    {&hsm::SecretKeyInfo::unwrap, CKA_UNWRAP, "CKA_UNWRAP", false},
};

TEST(PolicyViolationsTest, LockedDownKeyPasses) {
  EXPECT_THAT(PolicyViolations(LockedDown()), IsEmpty());
}

TEST(PolicyViolationsTest, EachViolatedAttributeIsNamed) {
  for (const Rule& rule : kRules) {
    hsm::SecretKeyInfo info = LockedDown();
    info.*rule.field = !rule.required;
    EXPECT_THAT(PolicyViolations(info),
                ElementsAre(absl::StrCat(rule.attribute, " is ",
                                         rule.required ? "false" : "true")));
  }
}

TEST(PolicyViolationsTest, UnreportedAttributeIsAViolation) {
  for (const Rule& rule : kRules) {
    hsm::SecretKeyInfo info = LockedDown();
    info.*rule.field = std::nullopt;
    EXPECT_THAT(PolicyViolations(info),
                ElementsAre(absl::StrCat(rule.attribute, " is not reported")));
  }
  hsm::SecretKeyInfo info = LockedDown();
  info.token = std::nullopt;
  EXPECT_THAT(PolicyViolations(info), ElementsAre("CKA_TOKEN is not reported"));
}

TEST(PolicyViolationsTest, SessionObjectIsRefused) {
  hsm::SecretKeyInfo info = LockedDown();
  info.token = false;
  EXPECT_THAT(PolicyViolations(info),
              ElementsAre("it is a session object (CKA_TOKEN is false)"));
}

TEST(PolicyViolationsTest, EveryViolationIsListed) {
  hsm::SecretKeyInfo info = LockedDown();
  info.token = false;
  for (const Rule& rule : kRules) info.*rule.field = !rule.required;
  std::vector<std::string> reasons = PolicyViolations(info);
  EXPECT_EQ(reasons.size(), 1 + std::size(kRules));
  EXPECT_THAT(reasons, Contains(HasSubstr("session object")));
  for (const Rule& rule : kRules) {
    EXPECT_THAT(reasons, Contains(HasSubstr(rule.attribute)));
  }
}

// Provenance and usage attributes are reported, not judged.
TEST(PolicyViolationsTest, ProvenanceAndUsageDoNotDecide) {
  hsm::SecretKeyInfo info = LockedDown();
  info.local = info.always_sensitive = info.never_extractable = std::nullopt;
  info.sign = info.verify = std::nullopt;
  EXPECT_THAT(PolicyViolations(info), IsEmpty());
}

std::vector<std::string> WeakRawReasons() {
  return {"CKA_SENSITIVE is false", "CKA_EXTRACTABLE is true",
          "CKA_MODIFIABLE is true", "CKA_DERIVE is true",
          "CKA_ENCRYPT is true"};
}

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    admin_ = TestToken::Get().Open(/*read_write=*/true);
    server_ = TestToken::Get().Open(/*read_write=*/false);
  }

  absl::StatusOr<MacResult> FreshSign(const std::string& name) {
    auto store = HsmKeyStore::Create(server_.get());
    if (!store.ok()) return store.status();
    return (*store)->Sign(name, "user-1");
  }

  std::vector<std::string> VersionRefusals(const std::string& name,
                                           uint32_t version) {
    auto catalog = ReadCatalog(*server_);
    EXPECT_THAT(catalog, IsOk());
    if (!catalog.ok() || catalog->keys.count(name) == 0) return {};
    const KeyVersionEntry* entry = catalog->keys.at(name).Find(version);
    return entry != nullptr ? entry->refusals : std::vector<std::string>{};
  }

  // Imports `name`, then swaps its key object for `weak`, which copies the
  // CKA_ID and the secret, so the ring's binding still holds and only the
  // custody policy stands in the way. Keeps the creating session open, which
  // keeps a session object alive.
  void SwapInWeakCopy(const std::string& name, WeakKeySpec weak) {
    weak.value = "swapped-key-secret-0123456789abcd";
    auto created = ImportKey(*admin_, name, Secret(weak.value));
    ASSERT_THAT(created, IsOk());
    ASSERT_THAT(FreshSign(name), IsOk());
    held_ = RawSession(*admin_);
    ASSERT_TRUE(held_.has_value());
    std::vector<CK_OBJECT_HANDLE> objects =
        RawFind(*held_, CKO_SECRET_KEY, created->label);
    ASSERT_EQ(objects.size(), 1u);
    ASSERT_EQ(RawDestroy(*held_, objects[0]), CKR_OK);
    weak.label = created->label;
    weak.id = created->object_id;
    ASSERT_NE(RawCreateKey(*held_, weak), CK_INVALID_HANDLE);
  }

  std::unique_ptr<hsm::Token> admin_;
  std::unique_ptr<hsm::Token> server_;
  std::optional<hsm::Session> held_;
};

TEST_F(PolicyTest, RawWeakKeyWithoutARingIsRefused) {
  {
    std::optional<hsm::Session> session = RawSession(*admin_);
    ASSERT_TRUE(session.has_value());
    ASSERT_NE(RawCreateKey(*session, {ObjectLabel("weak/key", 1), "weak",
                                      std::string(32, 'w')}),
              CK_INVALID_HANDLE);
  }
  EXPECT_THAT(FreshSign("weak/key"),
              StatusIs(kRefused, HasSubstr("no key ring")));
  std::vector<std::string> refusals = VersionRefusals("weak/key", 1);
  for (const std::string& reason : WeakRawReasons()) {
    EXPECT_THAT(refusals, Contains(reason));
  }
}

TEST_F(PolicyTest, RawWeakCopyIsRefusedNamingTheAttributes) {
  SwapInWeakCopy("weak/swapped", WeakKeySpec{});
  // The copy really is weak: its value can be read out.
  std::vector<CK_OBJECT_HANDLE> objects =
      RawFind(*held_, CKO_SECRET_KEY, ObjectLabel("weak/swapped", 1));
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(RawBytes(*held_, objects[0], CKA_VALUE),
            "swapped-key-secret-0123456789abcd");

  auto refused = FreshSign("weak/swapped");
  EXPECT_THAT(refused, StatusIs(kRefused, HasSubstr("custody policy")));
  EXPECT_THAT(refused, StatusIs(kRefused, Not(HasSubstr("replaced"))));
  for (const std::string& reason : WeakRawReasons()) {
    EXPECT_THAT(refused, StatusIs(kRefused, HasSubstr(reason)));
  }
  auto store = HsmKeyStore::Create(server_.get());
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->Verify("weak/swapped", "user-1", Bytes("x")),
              StatusIs(kRefused));
  EXPECT_THAT((*store)->Problems(),
              Contains(AllOf(HasSubstr("weak/swapped v1"),
                             HasSubstr("CKA_EXTRACTABLE is true"))));
}

TEST_F(PolicyTest, SessionObjectIsRefused) {
  WeakKeySpec spec;
  spec.token = false;
  spec.sensitive = true;
  spec.extractable = spec.modifiable = spec.derive = spec.encrypt = false;
  SwapInWeakCopy("weak/session", spec);
  std::vector<CK_OBJECT_HANDLE> objects =
      RawFind(*held_, CKO_SECRET_KEY, ObjectLabel("weak/session", 1));
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(RawBoolOf(*held_, objects[0], CKA_TOKEN), false);

  auto refused = FreshSign("weak/session");
  EXPECT_THAT(refused, StatusIs(kRefused, HasSubstr("session object")));
  EXPECT_THAT(refused, StatusIs(kRefused, Not(HasSubstr("CKA_SENSITIVE"))));
}

// pkcs11-tool generates a generic secret with SoftHSM2's defaults plus
// --extractable. No ring lists it, so it is refused; and a ring sealed with
// idsign's own ring key (as any PIN holder could write) does not make it
// usable either: the policy still names what is wrong with it.
TEST_F(PolicyTest, Pkcs11ToolWeakKeyIsRefused) {
  const std::string label = ObjectLabel("weak/pkcs11-tool", 1);
  const std::string command = absl::StrCat(
      IDSIGN_TEST_PKCS11_TOOL, " --module ", TestToken::module_path(),
      " --token-label ", TestToken::Get().label(), " --login --pin ",
      TestToken::Get().pin(), " --keygen --key-type GENERIC:32 --label ", label,
      " --id 70010203 --extractable 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[256];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  ASSERT_EQ(::pclose(pipe), 0) << command << "\n" << output;

  std::optional<hsm::Session> session = RawSession(*admin_);
  ASSERT_TRUE(session.has_value());
  std::vector<CK_OBJECT_HANDLE> objects =
      RawFind(*session, CKO_SECRET_KEY, label);
  ASSERT_EQ(objects.size(), 1u) << output;
  EXPECT_EQ(RawBoolOf(*session, objects[0], CKA_EXTRACTABLE), true);
  EXPECT_EQ(RawBoolOf(*session, objects[0], CKA_SENSITIVE), false);
  EXPECT_THAT(FreshSign("weak/pkcs11-tool"),
              StatusIs(kRefused, HasSubstr("no key ring")));

  auto ring_key = EnsureRingKey(*session);
  ASSERT_THAT(ring_key, IsOk());
  ring::State state;
  state.set_name("weak/pkcs11-tool");
  state.set_primary_version(1);
  state.set_min_verify_version(1);
  state.set_generation(1);
  ring::Version* v1 = state.add_versions();
  v1->set_version(1);
  v1->set_state(ring::VERSION_STATE_ENABLED);
  v1->set_object_id(std::string("\x70\x01\x02\x03", 4));
  v1->set_check_value(
      RawBytes(*session, objects[0], CKA_CHECK_VALUE).value_or(""));
  ASSERT_THAT(WriteRing(*session, *ring_key, state, {}), IsOk());

  auto refused = FreshSign("weak/pkcs11-tool");
  EXPECT_THAT(refused, StatusIs(kRefused, HasSubstr("custody policy")));
  EXPECT_THAT(refused,
              StatusIs(kRefused, HasSubstr("CKA_EXTRACTABLE is true")));
  EXPECT_THAT(refused, StatusIs(kRefused, HasSubstr("CKA_SENSITIVE is false")));
  // Every other attribute the token reports as weak is named too.
  for (const Rule& rule : kRules) {
    std::optional<bool> value = RawBoolOf(*session, objects[0], rule.type);
    ASSERT_TRUE(value.has_value()) << rule.attribute;
    if (*value != rule.required) {
      EXPECT_THAT(refused, StatusIs(kRefused, HasSubstr(rule.attribute)));
    }
  }
}

}  // namespace
}  // namespace idsign::keys
