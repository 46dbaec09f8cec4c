idsign_test(hsm_secret_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/secret_test.cc
  LIBS idsign::hsm)
idsign_test(hsm_ckr_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/ckr_test.cc
  LIBS idsign::hsm)
idsign_test(hsm_pin_file_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/pin_file_test.cc
  LIBS idsign::hsm)
