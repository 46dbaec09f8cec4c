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
