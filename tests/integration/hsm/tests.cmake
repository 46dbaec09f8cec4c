idsign_test(hsm_token_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/token_test.cc
  LIBS idsign::hsm)
idsign_test(hsm_mac_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/mac_test.cc
  LIBS idsign::hsm)
idsign_test(hsm_session_pool_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/session_pool_test.cc
  LIBS idsign::hsm)
idsign_test(hsm_digest_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/digest_test.cc
  LIBS idsign::hsm)
