# Service integration tests: idsign.v1.Signer, health and reflection served
# by service::Server over real channels, with keys in the binary's SoftHSM2
# token.
idsign_test(service_integration_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/service_fixture.cc
    ${CMAKE_CURRENT_LIST_DIR}/sign_verify_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/batch_sign_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/list_keys_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/random_identities_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/server_features_test.cc
  LIBS idsign::service)

# Token failures injected through tests/shim's PKCS#11 module. A process can
# C_Initialize a module only once, so this runs in its own binary.
idsign_test(service_token_fault_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/service_fixture.cc
    ${CMAKE_CURRENT_LIST_DIR}/token_fault_test.cc
  LIBS idsign::service)
target_compile_definitions(service_token_fault_test PRIVATE
  IDSIGN_TEST_FAULT_SHIM="$<TARGET_FILE:idsign_pkcs11_fault_shim>")
add_dependencies(service_token_fault_test idsign_pkcs11_fault_shim)

# Rotation, promotion and the minimum verify version while a client signs.
# Each of the following binaries has a token of its own, so the keys one
# creates never show up in another's ListKeys.
idsign_test(service_rotation_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/service_fixture.cc
    ${CMAKE_CURRENT_LIST_DIR}/rotation_test.cc
  LIBS idsign::service)

# The audit trail of Sign, BatchSign and Verify; failing closed.
idsign_test(service_audit_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/service_fixture.cc
    ${CMAKE_CURRENT_LIST_DIR}/audit_service_test.cc
  LIBS idsign::service)

# Weak key objects created behind idsign's back; health per key.
idsign_test(service_policy_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/service_fixture.cc
    ${CMAKE_CURRENT_LIST_DIR}/policy_test.cc
  LIBS idsign::service)

# idsignd's own unix socket listener: callers named by the uid of their own
# connection, and the socket file's life.
idsign_test(service_unix_listener_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/unix_listener_test.cc
  LIBS idsign::service)

# The call guards through service::Server: --max-inflight's cap, and the
# caller policy for a unix socket caller named by uid.
idsign_test(service_guards_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/service_fixture.cc
    ${CMAKE_CURRENT_LIST_DIR}/guards_test.cc
  LIBS idsign::service)

# SignJwt, VerifyJwt, encodings, rollout decisions and counters, the
# identifier guard. python3-jwt is the independent JWT implementation: the
# system python3 (Debian's), not whatever python3 comes first on PATH.
find_program(IDSIGN_SYSTEM_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH
  REQUIRED)
idsign_test(service_jwt_integration_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/service_fixture.cc
    ${CMAKE_CURRENT_LIST_DIR}/jwt_test_util.cc
    ${CMAKE_CURRENT_LIST_DIR}/jwt_service_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jwt_request_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/rollout_service_test.cc
  LIBS idsign::service)
target_compile_definitions(service_jwt_integration_test PRIVATE
  IDSIGN_TEST_PYTHON3="${IDSIGN_SYSTEM_PYTHON3}")
