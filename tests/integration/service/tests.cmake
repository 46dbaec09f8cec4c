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
