# Integration tests of the audit trail against the binary's SoftHSM2 token.
# OpenSSL (linked through idsign::testing) is the oracle only.
idsign_test(audit_key_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/audit_key_test.cc
  LIBS idsign::audit)
idsign_test(audit_file_log_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/file_audit_log_test.cc
  LIBS idsign::audit)
idsign_test(audit_failure_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/failure_test.cc
  LIBS idsign::audit)
idsign_test(audit_verify_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/verify_test.cc
  LIBS idsign::audit)
idsign_test(audit_multiprocess_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/multiprocess_test.cc
  LIBS idsign::audit)
