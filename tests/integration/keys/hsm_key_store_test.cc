// HsmKeyStore on the test token: lookup, versions, reload, recovery from
// stale handles, and refusal of objects changed behind the store's back.
#include "service/keys/hsm_key_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "hsm/objects.h"
#include "service/keys/key_admin.h"
#include "service/keys/key_name.h"
#include "tests/integration/keys/keys_test_util.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::keys {
namespace {

using ::idsign::keys::test::AsString;
using ::idsign::keys::test::Bytes;
using ::idsign::keys::test::ObjectsLabelled;
using ::idsign::keys::test::Secret;
using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslHmacSha256;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;

class HsmKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The server's view is read-only; administration goes through a separate
    // read/write token, as with the CLI.
    server_token_ = TestToken::Get().Open(/*read_write=*/false);
    admin_token_ = TestToken::Get().Open(/*read_write=*/true);
  }
  void TearDown() override {
    store_.reset();
    server_token_.reset();
    admin_token_.reset();
  }

  void CreateStore(HsmKeyStore::Options options = {}) {
    auto store = HsmKeyStore::Create(server_token_.get(), options);
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }

  // The store's entry for `name`, or nullptr.
  const KeyEntry* Listed(const std::string& name) {
    listed_ = store_->List();
    for (const KeyEntry& entry : listed_) {
      if (entry.name == name) return &entry;
    }
    return nullptr;
  }

  // The handle the store caches for the primary version of `name`.
  CK_OBJECT_HANDLE CachedPrimaryHandle(const std::string& name) {
    const KeyEntry* entry = Listed(name);
    if (entry == nullptr || entry->Primary() == nullptr ||
        !entry->Primary()->object.has_value()) {
      ADD_FAILURE() << "no cached object for " << name;
      return CK_INVALID_HANDLE;
    }
    return entry->Primary()->object->handle;
  }

  // Closes every session of this process on the token. SoftHSM2 then
  // forgets every object handle it gave out, so the objects are unchanged
  // but the store's cached handles are stale. Both tokens log in again.
  void InvalidateEveryHandle() {
    CK_FUNCTION_LIST* fn = TestToken::Get().module()->fn();
    ASSERT_EQ(fn->C_CloseAllSessions(server_token_->slot()), CKR_OK);
    ASSERT_THAT(server_token_->EnsureLoggedIn(), IsOk());
    ASSERT_THAT(admin_token_->EnsureLoggedIn(), IsOk());
  }

  // Destroys the one object behind version 1 of `name` with raw Cryptoki and
  // returns its former handle.
  CK_OBJECT_HANDLE DestroyBehindTheStoresBack(const std::string& name) {
    std::vector<CK_OBJECT_HANDLE> handles =
        ObjectsLabelled(*admin_token_, ObjectLabel(name, 1));
    EXPECT_EQ(handles.size(), 1u);
    if (handles.size() != 1) return CK_INVALID_HANDLE;
    auto session = admin_token_->Acquire();
    EXPECT_THAT(session, IsOk());
    if (!session.ok()) return CK_INVALID_HANDLE;
    EXPECT_EQ(session->fn()->C_DestroyObject(session->handle(), handles[0]),
              CKR_OK);
    return handles[0];
  }

  std::unique_ptr<hsm::Token> server_token_;
  std::unique_ptr<hsm::Token> admin_token_;
  std::unique_ptr<HsmKeyStore> store_;
  std::vector<KeyEntry> listed_;
};

TEST_F(HsmKeyStoreTest, UnknownKeyIsNotFound) {
  CreateStore();
  const std::vector<absl::string_view> data = {"a", "b"};
  EXPECT_THAT(
      store_->Sign("store/missing", "x"),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("store/missing")));
  EXPECT_THAT(store_->SignMany("store/missing", data),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Verify("store/missing", "x", Bytes(std::string(32, 'm'))),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(HsmKeyStoreTest, SignsWithPrimaryAndVerifiesEveryVersion) {
  const std::string v1 = "first-secret-0123456789abcdefghij";
  const std::string v2 = "second-secret-0123456789abcdefghi";
  ASSERT_THAT(ImportKey(*admin_token_, "store/rotated", Secret(v1)), IsOk());
  const hsm::SecretBytes v2_secret = Secret(v2);
  ASSERT_THAT(RotateKey(*admin_token_, "store/rotated", KeySource{&v2_secret},
                        /*make_primary=*/true),
              IsOk());
  CreateStore();

  auto signed_now = store_->Sign("store/rotated", "user-7");
  ASSERT_THAT(signed_now, IsOk());
  EXPECT_EQ(signed_now->version, 2u);
  EXPECT_EQ(AsString(signed_now->mac), OpenSslHmacSha256(v2, "user-7"));

  auto old_mac = store_->Verify("store/rotated", "user-7",
                                Bytes(OpenSslHmacSha256(v1, "user-7")));
  ASSERT_THAT(old_mac, IsOk());
  EXPECT_TRUE(old_mac->valid);
  EXPECT_EQ(old_mac->version, 1u);

  auto new_mac = store_->Verify("store/rotated", "user-7",
                                Bytes(OpenSslHmacSha256(v2, "user-7")));
  ASSERT_THAT(new_mac, IsOk());
  EXPECT_TRUE(new_mac->valid);
  EXPECT_EQ(new_mac->version, 2u);

  auto other_user = store_->Verify("store/rotated", "user-8",
                                   Bytes(OpenSslHmacSha256(v2, "user-7")));
  ASSERT_THAT(other_user, IsOk());
  EXPECT_FALSE(other_user->valid);
  EXPECT_EQ(other_user->version, 0u);

  auto truncated =
      store_->Verify("store/rotated", "user-7",
                     Bytes(OpenSslHmacSha256(v2, "user-7").substr(0, 16)));
  ASSERT_THAT(truncated, IsOk());
  EXPECT_FALSE(truncated->valid);

  bool listed = false;
  for (const KeyEntry& entry : store_->List()) {
    if (entry.name != "store/rotated") continue;
    listed = true;
    EXPECT_EQ(entry.primary_version, 2u);
    EXPECT_EQ(entry.versions.size(), 2u);
  }
  EXPECT_TRUE(listed);
}

TEST_F(HsmKeyStoreTest, SignManyOfNothingIsEmpty) {
  ASSERT_THAT(ImportKey(*admin_token_, "store/empty-batch", Secret("s3cr3t")),
              IsOk());
  CreateStore();
  auto results = store_->SignMany("store/empty-batch", {});
  ASSERT_THAT(results, IsOk());
  EXPECT_TRUE(results->empty());
}

TEST_F(HsmKeyStoreTest, ReloadPicksUpAKeyImportedAfterCreate) {
  // Reload-on-unknown (reload_test.cc) is spent first, so that only the
  // explicit Reload can find the new key.
  CreateStore(HsmKeyStore::Options{absl::Hours(1)});
  EXPECT_THAT(store_->Sign("store/spends-the-reload", "u"),
              StatusIs(absl::StatusCode::kNotFound));
  const size_t before = store_->key_count();
  const std::string secret = "imported-later-secret";
  ASSERT_THAT(ImportKey(*admin_token_, "store/later", Secret(secret)), IsOk());

  EXPECT_THAT(store_->Sign("store/later", "u"),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(store_->Reload(), IsOk());
  EXPECT_EQ(store_->key_count(), before + 1);
  auto result = store_->Sign("store/later", "u");
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(AsString(result->mac), OpenSslHmacSha256(secret, "u"));
}

TEST_F(HsmKeyStoreTest, StaleHandleIsReloadedOnSign) {
  const std::string secret = "stale-handle-secret-0123456789ab";
  ASSERT_THAT(ImportKey(*admin_token_, "store/stale", Secret(secret)), IsOk());
  CreateStore();
  ASSERT_THAT(store_->Sign("store/stale", "warm"), IsOk());
  const CK_OBJECT_HANDLE cached = CachedPrimaryHandle("store/stale");

  InvalidateEveryHandle();
  std::vector<CK_OBJECT_HANDLE> now =
      ObjectsLabelled(*admin_token_, ObjectLabel("store/stale", 1));
  ASSERT_EQ(now.size(), 1u);
  // Otherwise the cached handle would still work and nothing is tested.
  ASSERT_NE(now[0], cached);

  auto result = store_->Sign("store/stale", "user-1");
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(AsString(result->mac), OpenSslHmacSha256(secret, "user-1"));
  EXPECT_EQ(result->version, 1u);
  // The store reloaded: it now caches the object's new handle.
  EXPECT_EQ(CachedPrimaryHandle("store/stale"), now[0]);
}

TEST_F(HsmKeyStoreTest, StaleHandleIsReloadedOnSignManyAndVerify) {
  const std::string secret = "batch-stale-secret-0123456789abc";
  ASSERT_THAT(ImportKey(*admin_token_, "store/stale-many", Secret(secret)),
              IsOk());
  CreateStore();

  const CK_OBJECT_HANDLE first = CachedPrimaryHandle("store/stale-many");
  InvalidateEveryHandle();
  const std::vector<absl::string_view> data = {"a", "b", "c"};
  auto results = store_->SignMany("store/stale-many", data);
  ASSERT_THAT(results, IsOk());
  ASSERT_EQ(results->size(), 3u);
  for (size_t i = 0; i < data.size(); ++i) {
    EXPECT_EQ(AsString((*results)[i].mac), OpenSslHmacSha256(secret, data[i]));
  }
  const CK_OBJECT_HANDLE second = CachedPrimaryHandle("store/stale-many");
  EXPECT_NE(second, first);

  InvalidateEveryHandle();
  auto verified = store_->Verify("store/stale-many", "b",
                                 Bytes(OpenSslHmacSha256(secret, "b")));
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->valid);
  EXPECT_EQ(verified->version, 1u);
  EXPECT_NE(CachedPrimaryHandle("store/stale-many"), second);
}

// A key object destroyed and re-created behind idsign's back gets a new
// CKA_ID, so the ring no longer vouches for it. The stale handle makes the
// store reload, and the reload refuses the key: even the same secret under
// the same label is not trusted, and the last good state is not kept because
// its object is gone.
TEST_F(HsmKeyStoreTest, ObjectReplacedBehindTheStoresBackIsRefused) {
  const std::string secret = "old-secret-0123456789abcdefghijk";
  ASSERT_THAT(ImportKey(*admin_token_, "store/replaced", Secret(secret)),
              IsOk());
  CreateStore();
  ASSERT_THAT(store_->Sign("store/replaced", "a"), IsOk());
  DestroyBehindTheStoresBack("store/replaced");
  {
    auto session = admin_token_->Acquire();
    ASSERT_THAT(session, IsOk());
    ASSERT_THAT(hsm::ImportHmacKey(
                    *session, {ObjectLabel("store/replaced", 1), "other-id"},
                    Secret(secret)),
                IsOk());
  }

  EXPECT_THAT(store_->Sign("store/replaced", "a"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("replaced behind idsign's back")));
  EXPECT_THAT(store_->Verify("store/replaced", "a",
                             Bytes(OpenSslHmacSha256(secret, "a"))),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("replaced behind idsign's back")));
  const KeyEntry* listed = Listed("store/replaced");
  ASSERT_NE(listed, nullptr);
  EXPECT_THAT(listed->problem, HasSubstr("replaced behind idsign's back"));
  EXPECT_THAT(store_->Problems(),
              Contains(AllOf(HasSubstr("store/replaced"),
                             HasSubstr("replaced behind idsign's back"))));
}

// The ring still lists the version, so the key stays known; the version is
// refused because its object is missing.
TEST_F(HsmKeyStoreTest, ObjectDestroyedBehindTheStoresBackIsRefused) {
  ASSERT_THAT(ImportKey(*admin_token_, "store/destroyed", Secret("gone-soon")),
              IsOk());
  CreateStore();
  DestroyBehindTheStoresBack("store/destroyed");
  EXPECT_THAT(store_->Sign("store/destroyed", "x"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("missing from the token")));
  const KeyEntry* listed = Listed("store/destroyed");
  ASSERT_NE(listed, nullptr);
  ASSERT_NE(listed->Primary(), nullptr);
  EXPECT_FALSE(listed->Primary()->object.has_value());
  EXPECT_FALSE(listed->Primary()->usable());
}

}  // namespace
}  // namespace idsign::keys
