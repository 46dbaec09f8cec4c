idsign_test(keys_key_name_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/key_name_test.cc
  LIBS idsign::keys)
idsign_test(keys_scheme_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/scheme_test.cc
  LIBS idsign::keys)
