// ReadPinFile's permission check and DisableCoreDumps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "hsm/process.h"
#include "hsm/secret.h"
#include "tests/testing/status_matchers.h"

namespace idsign::hsm {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::testing::HasSubstr;

class PinFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "idsign-pin-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string WritePin(mode_t mode) {
    std::string path = dir_ + "/user.pin";
    std::ofstream(path) << "87654321\n";
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }
  std::string dir_;
};

TEST_F(PinFileTest, OwnerOnlyFileIsRead) {
  auto pin = ReadPinFile(WritePin(0600));
  ASSERT_THAT(pin, IsOk());
  EXPECT_EQ(pin->view(), "87654321");
  EXPECT_THAT(ReadPinFile(WritePin(0400)), IsOk());
}

TEST_F(PinFileTest, GroupOrOtherAccessIsRefusedWithTheFix) {
  for (mode_t mode : {0640, 0604, 0620, 0602, 0644, 0666, 0610}) {
    auto pin = ReadPinFile(WritePin(mode));
    EXPECT_THAT(pin, StatusIs(absl::StatusCode::kPermissionDenied,
                              HasSubstr("chmod 600")))
        << std::oct << mode;
    EXPECT_THAT(pin.status().message(), HasSubstr("group or others"));
  }
}

TEST_F(PinFileTest, MissingFileIsNotFound) {
  EXPECT_THAT(ReadPinFile(dir_ + "/absent.pin"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(ProcessTest, DisableCoreDumpsTurnsOffDumpingAndCoreFiles) {
  ASSERT_THAT(DisableCoreDumps(), IsOk());
  EXPECT_EQ(::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
  struct rlimit core;
  ASSERT_EQ(::getrlimit(RLIMIT_CORE, &core), 0);
  EXPECT_EQ(core.rlim_cur, 0u);
  EXPECT_EQ(core.rlim_max, 0u);
}

}  // namespace
}  // namespace idsign::hsm
