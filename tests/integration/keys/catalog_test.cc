// keys::ReadCatalog: which token objects become logical keys and versions,
// and which of them are refused.
#include "service/keys/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "hsm/objects.h"
#include "service/keys/hsm_key_store.h"
#include "service/keys/key_admin.h"
#include "service/keys/key_name.h"
#include "tests/integration/keys/keys_test_util.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::keys {
namespace {

using ::idsign::keys::test::ObjectsLabelled;
using ::idsign::keys::test::Secret;
using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override { token_ = TestToken::Get().Open(); }

  // Creates an object labelled `label` directly through the hsm layer, as
  // another tool writing to the same token would.
  void CreateRaw(const std::string& label, const std::string& secret) {
    auto session = token_->Acquire();
    ASSERT_THAT(session, IsOk());
    ASSERT_THAT(
        hsm::ImportHmacKey(*session, hsm::NewKey{label, "raw"}, Secret(secret)),
        IsOk());
  }

  Catalog Read() {
    auto catalog = ReadCatalog(*token_);
    EXPECT_THAT(catalog, IsOk());
    return catalog.ok() ? *catalog : Catalog{};
  }

  std::unique_ptr<hsm::Token> token_;
};

TEST_F(CatalogTest, ListsCreatedKeysWithTheirObjects) {
  auto imported =
      ImportKey(*token_, "catalog/imported", Secret("vendor-secret"));
  auto generated = GenerateKey(*token_, "catalog/generated", 48);
  ASSERT_THAT(imported, IsOk());
  ASSERT_THAT(generated, IsOk());

  Catalog catalog = Read();
  for (const CreatedKey* created : {&*imported, &*generated}) {
    ASSERT_EQ(catalog.keys.count(created->name), 1u) << created->name;
    const KeyEntry& entry = catalog.keys.at(created->name);
    EXPECT_EQ(entry.name, created->name);
    ASSERT_EQ(entry.versions.size(), 1u);
    EXPECT_EQ(entry.primary_version, 1u);
    EXPECT_EQ(entry.min_verify_version, 1u);
    EXPECT_EQ(entry.generation, 1u);
    EXPECT_EQ(entry.problem, "");
    ASSERT_NE(entry.Primary(), nullptr);
    const KeyVersionEntry& primary = *entry.Primary();
    EXPECT_TRUE(primary.usable());
    EXPECT_THAT(primary.refusals, IsEmpty());
    ASSERT_TRUE(primary.object.has_value());
    EXPECT_EQ(primary.object->label, created->label);
    EXPECT_EQ(primary.object->id, created->object_id);
    EXPECT_EQ(primary.object->value_len, created->stored_bytes);
    EXPECT_EQ(primary.meta.object_id(), created->object_id);
    EXPECT_EQ(primary.meta.check_value(), created->check_value);
    EXPECT_EQ(entry.Find(2), nullptr);
  }
}

TEST_F(CatalogTest, VersionsAreSortedAndThePrimaryComesFromTheRing) {
  const std::string name = "catalog/versions";
  ASSERT_THAT(ImportKey(*token_, name, Secret(std::string(32, '1'))), IsOk());
  for (char fill : {'2', '3'}) {
    const hsm::SecretBytes secret = Secret(std::string(32, fill));
    ASSERT_THAT(
        RotateKey(*token_, name, KeySource{&secret}, /*make_primary=*/false),
        IsOk());
  }
  ASSERT_THAT(PromoteVersion(*token_, name, 2), IsOk());
  Catalog catalog = Read();
  ASSERT_EQ(catalog.keys.count(name), 1u);
  const KeyEntry& entry = catalog.keys.at(name);
  EXPECT_THAT(entry.versions,
              ElementsAre(Field(&KeyVersionEntry::version, 1u),
                          Field(&KeyVersionEntry::version, 2u),
                          Field(&KeyVersionEntry::version, 3u)));
  // Neither the highest version nor the first: the ring decides.
  EXPECT_EQ(entry.primary_version, 2u);
  EXPECT_EQ(entry.max_version(), 3u);
  EXPECT_EQ(entry.problem, "");
  ASSERT_NE(entry.Find(3), nullptr);
  ASSERT_TRUE(entry.Find(3)->object.has_value());
  EXPECT_EQ(entry.Find(3)->object->label, "idsign:catalog/versions:v3");
}

// Objects idsign did not create (no ring lists them) are shown, sorted, and
// refused, however well their labels look.
TEST_F(CatalogTest, ObjectsWithoutARingAreListedButRefused) {
  CreateRaw(ObjectLabel("catalog/no-ring", 3), std::string(32, '3'));
  CreateRaw(ObjectLabel("catalog/no-ring", 1), std::string(32, '1'));
  CreateRaw(ObjectLabel("catalog/no-ring", 10), std::string(32, 'a'));
  Catalog catalog = Read();
  ASSERT_EQ(catalog.keys.count("catalog/no-ring"), 1u);
  const KeyEntry& entry = catalog.keys.at("catalog/no-ring");
  EXPECT_THAT(entry.versions,
              ElementsAre(Field(&KeyVersionEntry::version, 1u),
                          Field(&KeyVersionEntry::version, 3u),
                          Field(&KeyVersionEntry::version, 10u)));
  EXPECT_EQ(entry.primary_version, 0u);
  EXPECT_EQ(entry.Primary(), nullptr);
  EXPECT_THAT(entry.problem, HasSubstr("no key ring"));
  for (const KeyVersionEntry& version : entry.versions) {
    EXPECT_FALSE(version.usable()) << version.version;
    EXPECT_THAT(version.refusals, Contains(HasSubstr("does not list it")));
    ASSERT_TRUE(version.object.has_value());
    EXPECT_EQ(version.object->label,
              ObjectLabel("catalog/no-ring", version.version));
  }
  auto store = HsmKeyStore::Create(token_.get());
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->Sign("catalog/no-ring", "x"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no key ring")));
}

TEST_F(CatalogTest, ForeignObjectsAreIgnored) {
  CreateRaw("someone-elses-key", std::string(32, 'f'));
  CreateRaw("idsign:catalog/bad name:v1", std::string(32, 'f'));
  CreateRaw("idsign:catalog/no-version", std::string(32, 'f'));
  CreateRaw("idsign:catalog/zero:v0", std::string(32, 'f'));
  Catalog catalog = Read();
  for (const auto& [name, entry] : catalog.keys) {
    EXPECT_THAT(ValidateKeyName(name), IsOk());
    for (const KeyVersionEntry& version : entry.versions) {
      ASSERT_TRUE(version.object.has_value()) << name;
      EXPECT_EQ(version.object->label, ObjectLabel(name, version.version));
    }
  }
  EXPECT_EQ(catalog.keys.count("catalog/zero"), 0u);
  EXPECT_EQ(catalog.keys.count("catalog/no-version"), 0u);
}

TEST_F(CatalogTest, NonCanonicalVersionLabelsAreIgnored) {
  ASSERT_THAT(
      ImportKey(*token_, "catalog/canonical", Secret(std::string(32, 'c'))),
      IsOk());
  // These would read as version 1 if the number were parsed leniently.
  CreateRaw("idsign:catalog/canonical:v+1", std::string(32, 'x'));
  CreateRaw("idsign:catalog/canonical:v 1", std::string(32, 'y'));
  CreateRaw("idsign:catalog/canonical:v1 ", std::string(32, 'z'));
  Catalog catalog = Read();
  ASSERT_EQ(catalog.keys.count("catalog/canonical"), 1u);
  const KeyEntry& entry = catalog.keys.at("catalog/canonical");
  ASSERT_EQ(entry.versions.size(), 1u);
  ASSERT_TRUE(entry.versions[0].object.has_value());
  EXPECT_EQ(entry.versions[0].object->label, "idsign:catalog/canonical:v1");
  EXPECT_TRUE(entry.versions[0].usable());
}

TEST_F(CatalogTest, DuplicateLabelsAreReportedAndLeftOut) {
  const std::string label = ObjectLabel("catalog/twice", 1);
  CreateRaw(label, std::string(32, 'a'));
  CreateRaw(label, std::string(32, 'b'));
  CreateRaw(ObjectLabel("catalog/twice", 2), std::string(32, 'c'));
  Catalog catalog = Read();
  EXPECT_THAT(catalog.ambiguous_labels, Contains(label));
  EXPECT_THAT(catalog.ambiguous_labels,
              Not(Contains(ObjectLabel("catalog/twice", 2))));
  ASSERT_EQ(catalog.keys.count("catalog/twice"), 1u);
  EXPECT_THAT(catalog.keys.at("catalog/twice").versions,
              ElementsAre(Field(&KeyVersionEntry::version, 2u)));
  EXPECT_THAT(catalog.keys.at("catalog/twice").problem,
              HasSubstr("no key ring"));
}

TEST_F(CatalogTest, ImportOntoAnAmbiguousNameCreatesNothing) {
  const std::string label = ObjectLabel("catalog/ambiguous", 1);
  CreateRaw(label, std::string(32, 'a'));
  CreateRaw(label, std::string(32, 'b'));
  auto imported =
      ImportKey(*token_, "catalog/ambiguous", Secret(std::string(32, 'n')));
  EXPECT_FALSE(imported.ok());
  EXPECT_EQ(ObjectsLabelled(*token_, label).size(), 2u);
}

}  // namespace
}  // namespace idsign::keys
