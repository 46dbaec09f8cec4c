# Service-layer unit tests: pure functions, no HSM and no network.
idsign_test(service_identity_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/identity_test.cc
  LIBS idsign::service)
idsign_test(service_encoding_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/encoding_test.cc
  LIBS idsign::service)
idsign_test(service_listen_address_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/listen_address_test.cc
  LIBS idsign::service)
idsign_test(service_grpc_status_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/grpc_status_test.cc
  LIBS idsign::service)
idsign_test(service_caller_identity_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/caller_identity_test.cc
  LIBS idsign::service)
idsign_test(service_caller_policy_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/caller_policy_test.cc
  LIBS idsign::service)
idsign_test(service_call_limiter_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/call_limiter_test.cc
  LIBS idsign::service)
idsign_test(service_jwt_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/jwt_test.cc
  LIBS idsign::service)
idsign_test(service_identifier_guard_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/identifier_guard_test.cc
  LIBS idsign::service)
idsign_test(service_rollout_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/rollout_test.cc
  LIBS idsign::service)
