# Unit tests of the audit line format; no token needed.
idsign_test(audit_record_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/record_test.cc
  LIBS idsign::audit)
