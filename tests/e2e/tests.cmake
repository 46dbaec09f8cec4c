# End-to-end tests: the built idsign and idsignd binaries run as child
# processes on the test binary's own SoftHSM2 token.
add_library(idsign_e2e_support
  ${CMAKE_CURRENT_LIST_DIR}/idsignd_process.cc
  ${CMAKE_CURRENT_LIST_DIR}/subprocess.cc
  ${CMAKE_CURRENT_LIST_DIR}/unix_relay.cc)
target_link_libraries(idsign_e2e_support
  PUBLIC idsign::testing idsign::proto gRPC::grpc++)

# Usage, key administration and start-up refusals: no server left running.
idsign_test(e2e_cli_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/help_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/key_commands_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/legacy_rollout_cli_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/startup_test.cc
  LIBS idsign_e2e_support)

# sign, verify and batch-sign against idsignd; what its log may contain.
idsign_test(e2e_client_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/client_commands_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/log_hygiene_test.cc
  LIBS idsign_e2e_support)

# Stop signals, with and without a call in flight.
idsign_test(e2e_shutdown_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/shutdown_test.cc
  LIBS idsign_e2e_support)

# Key lifecycle through the binaries: reload (SIGHUP and periodic) while
# another process rotates, health per key, and the custody report checked
# against the token.
idsign_test(e2e_lifecycle_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/lifecycle_e2e_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/custody_e2e_test.cc
  LIBS idsign_e2e_support)

# The audit trail through the binaries: two writers, verify, tampering, and
# failing closed on an unwritable log.
idsign_test(e2e_audit_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/audit_e2e_test.cc
  LIBS idsign_e2e_support idsign::audit)

# TLS and mutual TLS through the binaries, with throwaway CAs made by the
# openssl command-line tool.
find_program(OPENSSL_BINARY openssl REQUIRED)
idsign_test(e2e_tls_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/tls_e2e_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/test_ca.cc
  LIBS idsign_e2e_support idsign::audit)
target_compile_definitions(e2e_tls_test PRIVATE
  IDSIGN_TEST_OPENSSL="${OPENSSL_BINARY}")

# Caller policy and limits through the binaries, over mutual TLS.
idsign_test(e2e_policy_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/policy_e2e_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/test_ca.cc
  LIBS idsign_e2e_support)
target_compile_definitions(e2e_policy_test PRIVATE
  IDSIGN_TEST_OPENSSL="${OPENSSL_BINARY}")

# Encodings, JWTs (checked by python3-jwt), rollout decisions and counters,
# and legacy-sha1 keys through the binaries.
find_program(IDSIGN_SYSTEM_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH
  REQUIRED)
idsign_test(e2e_jwt_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/jwt_e2e_test.cc
  LIBS idsign_e2e_support)
target_compile_definitions(e2e_jwt_test PRIVATE
  IDSIGN_TEST_PYTHON3="${IDSIGN_SYSTEM_PYTHON3}")

# Certificate reload through the binaries: SIGHUP, the periodic check, and
# broken replacements that keep the last good certificate.
idsign_test(e2e_tls_reload_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/tls_reload_e2e_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/test_ca.cc
  LIBS idsign_e2e_support)
target_compile_definitions(e2e_tls_reload_test PRIVATE
  IDSIGN_TEST_OPENSSL="${OPENSSL_BINARY}")

# Unix socket callers named by uid: the policy, the rate limit and the audit
# record see uid:N, and the socket file's mode decides who may connect.
idsign_test(e2e_unix_identity_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/unix_identity_e2e_test.cc
  LIBS idsign_e2e_support idsign::audit)

# --max-inflight through the binaries: idsignd loads the fault shim, which
# holds C_Sign until the test releases it, so calls are in flight exactly
# when the test says.
idsign_test(e2e_inflight_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/inflight_e2e_test.cc
  LIBS idsign_e2e_support)
target_compile_definitions(e2e_inflight_test PRIVATE
  IDSIGN_TEST_FAULT_SHIM="$<TARGET_FILE:idsign_pkcs11_fault_shim>")
add_dependencies(e2e_inflight_test idsign_pkcs11_fault_shim)
