# The Python client example (examples/python) against the built idsignd, on a
# throwaway SoftHSM2 token: login_example_test.py creates the token, imports
# a random secret with the built idsign, and checks the example's HTTP
# answers (plaintext on loopback, and mutual TLS with a caller policy) with
# Python's hmac module and PyJWT as oracles. The Node example
# passes the same checks (--example=node) but needs `npm install`, which CI
# does not run.

# A Python 3 that has gRPC, protobuf and PyJWT: Debian's python3 with
# python3-grpcio and python3-jwt (scripts/install-deps.sh), even when another
# python3 comes first on PATH.
function(idsign_python_has_example_modules result candidate)
  execute_process(
    COMMAND "${candidate}" -c "import grpc, google.protobuf, jwt"
    RESULT_VARIABLE status OUTPUT_QUIET ERROR_QUIET)
  if(NOT status EQUAL 0)
    set(${result} FALSE PARENT_SCOPE)
  endif()
endfunction()
find_program(IDSIGN_EXAMPLES_PYTHON NAMES python3
  PATHS /usr/bin
  VALIDATOR idsign_python_has_example_modules)
find_program(IDSIGN_GRPC_PYTHON_PLUGIN grpc_python_plugin)
# The throwaway CA for the mutual-TLS checks.
find_program(OPENSSL_BINARY openssl REQUIRED)

if(IDSIGN_EXAMPLES_PYTHON AND IDSIGN_GRPC_PYTHON_PLUGIN)
  add_test(NAME examples_python_test
    COMMAND "${IDSIGN_EXAMPLES_PYTHON}"
      ${CMAKE_CURRENT_LIST_DIR}/login_example_test.py
      --example=python
      --idsign=$<TARGET_FILE:idsign>
      --idsignd=$<TARGET_FILE:idsignd>
      --softhsm2-util=${SOFTHSM2_UTIL}
      --openssl=${OPENSSL_BINARY})
  set_tests_properties(examples_python_test PROPERTIES
    TIMEOUT 300
    ENVIRONMENT
      "PROTOC=${Protobuf_PROTOC_EXECUTABLE};GRPC_PYTHON_PLUGIN=${IDSIGN_GRPC_PYTHON_PLUGIN}")
else()
  # Fail loudly rather than skip: CI must run this test.
  add_test(NAME examples_python_test
    COMMAND ${CMAKE_COMMAND} -E echo
      "examples_python_test: needs python3 with grpc, google.protobuf and jwt, and grpc_python_plugin (Debian: python3-grpcio python3-jwt protobuf-compiler-grpc; run scripts/install-deps.sh, then re-run cmake)")
  set_tests_properties(examples_python_test PROPERTIES
    FAIL_REGULAR_EXPRESSION "needs python3")
endif()
