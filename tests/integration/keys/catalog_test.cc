// keys::ReadCatalog: which token objects become logical keys and versions.
#include "service/keys/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "hsm/objects.h"
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
using ::idsign::testing::TestToken;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
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
    ASSERT_NE(entry.Primary(), nullptr);
    EXPECT_EQ(entry.Primary()->object.label, created->label);
    EXPECT_EQ(entry.Primary()->object.id, created->object_id);
    EXPECT_EQ(entry.Primary()->object.value_len, created->stored_bytes);
    EXPECT_EQ(entry.Find(2), nullptr);
  }
}

TEST_F(CatalogTest, VersionsAreSortedAndTheHighestIsPrimary) {
  CreateRaw(ObjectLabel("catalog/versions", 3), std::string(32, '3'));
  CreateRaw(ObjectLabel("catalog/versions", 1), std::string(32, '1'));
  CreateRaw(ObjectLabel("catalog/versions", 10), std::string(32, 'a'));
  Catalog catalog = Read();
  ASSERT_EQ(catalog.keys.count("catalog/versions"), 1u);
  const KeyEntry& entry = catalog.keys.at("catalog/versions");
  EXPECT_THAT(entry.versions,
              ElementsAre(Field(&KeyVersionEntry::version, 1u),
                          Field(&KeyVersionEntry::version, 3u),
                          Field(&KeyVersionEntry::version, 10u)));
  EXPECT_EQ(entry.primary_version, 10u);
  ASSERT_NE(entry.Find(3), nullptr);
  EXPECT_EQ(entry.Find(3)->object.label, "idsign:catalog/versions:v3");
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
      EXPECT_EQ(version.object.label, ObjectLabel(name, version.version));
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
  EXPECT_EQ(entry.versions[0].object.label, "idsign:catalog/canonical:v1");
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
