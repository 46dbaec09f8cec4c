# A PKCS#11 module that wraps SoftHSM2 and injects CK_RV faults on demand
# (see fault_shim.cc), and the tests of the shim itself. Service tests that
# use it live in tests/integration/service.
add_library(idsign_pkcs11_fault_shim MODULE ${CMAKE_CURRENT_LIST_DIR}/fault_shim.cc)
target_include_directories(idsign_pkcs11_fault_shim PRIVATE ${P11KIT_INCLUDE_DIRS})
target_link_libraries(idsign_pkcs11_fault_shim PRIVATE ${CMAKE_DL_LIBS} Threads::Threads)
set_target_properties(idsign_pkcs11_fault_shim PROPERTIES
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON)

idsign_test(pkcs11_fault_shim_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fault_shim_test.cc
  LIBS idsign::keys)
target_compile_definitions(pkcs11_fault_shim_test PRIVATE
  IDSIGN_TEST_FAULT_SHIM="$<TARGET_FILE:idsign_pkcs11_fault_shim>")
add_dependencies(pkcs11_fault_shim_test idsign_pkcs11_fault_shim)

# legacy-sha1 on a token that refuses C_DigestKey.
idsign_test(legacy_digest_refusal_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/legacy_refusal_test.cc
  LIBS idsign::keys)
target_compile_definitions(legacy_digest_refusal_test PRIVATE
  IDSIGN_TEST_FAULT_SHIM="$<TARGET_FILE:idsign_pkcs11_fault_shim>")
add_dependencies(legacy_digest_refusal_test idsign_pkcs11_fault_shim)
