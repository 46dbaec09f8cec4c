// idsign_bench runs end to end against a real idsignd: both phases complete
// without errors and the figures are printed. Nothing about speed is
// asserted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/e2e/idsignd_process.h"
#include "tests/e2e/subprocess.h"

namespace idsign::e2e {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(BenchSmokeTest, RunsBothPhasesAndPrintsTheRatio) {
  RunResult imported =
      ImportKey("bench/web/test", "bench-secret-0123456789abcdefghijklmn");
  ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
  std::string error;
  std::unique_ptr<IdsigndProcess> server =
      IdsigndProcess::Start("unix:" + ScratchPath("bench.sock"), {}, &error);
  ASSERT_NE(server, nullptr) << error;
  ASSERT_TRUE(server->WaitUntilServing());

  RunResult result =
      RunProcess({IDSIGN_BENCH_BINARY, "--server=" + server->target(),
                  "--key=bench/web/test", "--inflight=4", "--warmup=0.1s",
                  "--duration=0.2s"});
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stdout_text,
              ContainsRegex("grpc.health.v1.Health/Check +qps=[0-9]+"));
  EXPECT_THAT(result.stdout_text,
              ContainsRegex("idsign.v1.Signer/Sign +qps=[0-9]+"));
  EXPECT_THAT(result.stdout_text, HasSubstr("errors=0"));
  EXPECT_THAT(result.stdout_text, ContainsRegex("ratio_sign_check=[0-9.]+"));
}

TEST(BenchSmokeTest, UnknownKeyIsReportedAsAFailure) {
  std::string error;
  ASSERT_EQ(ImportKey("bench/other", std::string(32, 'o')).exit_code, 0);
  std::unique_ptr<IdsigndProcess> server =
      IdsigndProcess::Start("unix:" + ScratchPath("bench.sock"), {}, &error);
  ASSERT_NE(server, nullptr) << error;
  ASSERT_TRUE(server->WaitUntilServing());
  RunResult result =
      RunProcess({IDSIGN_BENCH_BINARY, "--server=" + server->target(),
                  "--key=bench/no-such-key", "--inflight=2", "--warmup=0s",
                  "--duration=0.2s"});
  EXPECT_EQ(result.exit_code, 1) << result.Describe();
  EXPECT_THAT(result.stdout_text, HasSubstr("first error: status 5"))
      << result.Describe();
}

}  // namespace
}  // namespace idsign::e2e
