# Integration tests of the keys layer against the binary's SoftHSM2 token.
idsign_test(keys_rfc4231_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/rfc4231_test.cc
  LIBS idsign::keys)
idsign_test(keys_random_identities_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/random_identities_test.cc
  LIBS idsign::keys)
idsign_test(keys_key_admin_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/key_admin_test.cc
  LIBS idsign::keys)
idsign_test(keys_catalog_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/catalog_test.cc
  LIBS idsign::keys)
idsign_test(keys_hsm_key_store_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hsm_key_store_test.cc
  LIBS idsign::keys)
idsign_test(keys_custody_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/custody_test.cc
  LIBS idsign::keys)
idsign_test(keys_ring_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/ring_test.cc
  LIBS idsign::keys)
# Destroys the ring key, so it needs a token of its own.
idsign_test(keys_ring_key_loss_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/ring_key_loss_test.cc
  LIBS idsign::keys)
idsign_test(keys_lifecycle_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/lifecycle_test.cc
  LIBS idsign::keys)
idsign_test(keys_verify_versions_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/verify_versions_test.cc
  LIBS idsign::keys)
idsign_test(keys_report_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/report_test.cc
  LIBS idsign::service)
idsign_test(keys_reload_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/reload_test.cc
  LIBS idsign::keys)
# Also creates a weak key with pkcs11-tool (OpenSC).
find_program(IDSIGN_PKCS11_TOOL pkcs11-tool)
idsign_test(keys_policy_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/policy_test.cc
  LIBS idsign::keys)
target_compile_definitions(keys_policy_test PRIVATE
  IDSIGN_TEST_PKCS11_TOOL="${IDSIGN_PKCS11_TOOL}")
idsign_test(keys_legacy_sha1_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/legacy_sha1_test.cc
  LIBS idsign::keys)
idsign_test(keys_rollout_mode_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/rollout_mode_test.cc
  LIBS idsign::keys)
idsign_test(keys_legacy_report_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/legacy_report_test.cc
  LIBS idsign::service)
