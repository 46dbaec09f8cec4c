# idsign_bench: the load generator that scripts/bench.sh runs. It is a tool,
# not a test; bench_smoke_test only checks that it runs against a real
# idsignd and prints its figures, and asserts nothing about speed.
add_executable(idsign_bench
  ${CMAKE_CURRENT_LIST_DIR}/idsign_bench_main.cc
  ${CMAKE_CURRENT_LIST_DIR}/load_generator.cc)
target_include_directories(idsign_bench PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(idsign_bench
  PRIVATE idsign::proto gRPC::grpc++ CLI11::CLI11 absl::strings
          absl::str_format absl::time)

idsign_test(bench_smoke_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/bench_smoke_test.cc
  LIBS idsign_e2e_support)
target_compile_definitions(bench_smoke_test PRIVATE
  IDSIGN_BENCH_BINARY="$<TARGET_FILE:idsign_bench>")
add_dependencies(bench_smoke_test idsign_bench)
