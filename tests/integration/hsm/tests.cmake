idsign_test(hsm_token_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/token_test.cc
  LIBS idsign::hsm)
