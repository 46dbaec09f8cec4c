#include "hsm/secret.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/testing/status_matchers.h"

namespace idsign::hsm {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::testing::HasSubstr;

// A private directory for the files one test writes, removed afterwards.
class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "idsign-secret-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string Write(const std::string& name, const std::string& contents) {
    std::string path = dir_ + "/" + name;
    std::ofstream out(path, std::ios::binary);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.close();
    EXPECT_TRUE(out.good()) << path;
    return path;
  }

  // The secret read back from a file holding `contents`, as a string.
  std::string RoundTrip(const std::string& contents) {
    auto secret = ReadSecretFile(Write("secret", contents), "secret file");
    EXPECT_THAT(secret, IsOk());
    if (!secret.ok()) return "<error>";
    return std::string(secret->view());
  }

  std::string dir_;
};

TEST_F(SecretFileTest, ReadsExactBytes) {
  EXPECT_EQ(RoundTrip("ahfikm8z"), "ahfikm8z");
  EXPECT_EQ(RoundTrip(" spaced secret\t"), " spaced secret\t");
  const std::string binary("\x00\xff\x01\n\x7f\x80", 6);
  EXPECT_EQ(RoundTrip(binary + "z"), binary + "z");
}

TEST_F(SecretFileTest, StripsExactlyOneTrailingNewline) {
  EXPECT_EQ(RoundTrip("secret\n"), "secret");
  EXPECT_EQ(RoundTrip("secret\r\n"), "secret");
  EXPECT_EQ(RoundTrip("secret\n\n"), "secret\n");
  EXPECT_EQ(RoundTrip("secret\r\n\r\n"), "secret\r\n");
  EXPECT_EQ(RoundTrip("secret\n\r\n"), "secret\n");
  EXPECT_EQ(RoundTrip("line1\nline2\n"), "line1\nline2");
}

TEST_F(SecretFileTest, KeepsALoneCarriageReturn) {
  EXPECT_EQ(RoundTrip("secret\r"), "secret\r");
  EXPECT_EQ(RoundTrip("secret\n\r"), "secret\n\r");
}

TEST_F(SecretFileTest, KeepsTheSecondOfTwoNewlines) {
  EXPECT_EQ(RoundTrip("\n\n"), "\n");
  EXPECT_EQ(RoundTrip("\r\n\r\n"), "\r\n");
}

TEST_F(SecretFileTest, EmptyFileIsInvalidArgument) {
  EXPECT_THAT(
      ReadSecretFile(Write("empty", ""), "PIN file"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("PIN file")));
}

TEST_F(SecretFileTest, FileWithOnlyANewlineIsInvalidArgument) {
  EXPECT_THAT(ReadSecretFile(Write("lf", "\n"), "secret file"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(ReadSecretFile(Write("crlf", "\r\n"), "secret file"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
}

TEST_F(SecretFileTest, MissingFileIsNotFoundAndNamesThePath) {
  const std::string path = dir_ + "/does-not-exist";
  EXPECT_THAT(
      ReadSecretFile(path, "secret file"),
      StatusIs(absl::StatusCode::kNotFound,
               ::testing::AllOf(HasSubstr(path), HasSubstr("secret file"))));
}

TEST_F(SecretFileTest, EmptyPathIsInvalidArgument) {
  EXPECT_THAT(ReadSecretFile("", "PIN file"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SecretFileTest, DirectoryIsInvalidArgument) {
  EXPECT_THAT(ReadSecretFile(dir_, "PIN file"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a regular file")));
}

TEST_F(SecretFileTest, UnreadableFileIsPermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  const std::string path = Write("locked", "secret");
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  EXPECT_THAT(ReadSecretFile(path, "PIN file"),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(SecretFileTest, SizeLimitIs64KiB) {
  const std::string at_limit(64 * 1024, 'k');
  auto secret = ReadSecretFile(Write("at-limit", at_limit), "secret file");
  ASSERT_THAT(secret, IsOk());
  EXPECT_EQ(secret->size(), at_limit.size());
  EXPECT_THAT(
      ReadSecretFile(Write("over", at_limit + "k"), "secret file"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("larger than")));
}

TEST(SecretBytesTest, SizedConstructorZeroFills) {
  SecretBytes bytes(16);
  ASSERT_EQ(bytes.size(), 16u);
  EXPECT_EQ(bytes.view(), std::string(16, '\0'));
}

TEST(SecretBytesTest, PaddedToAppendsZeros) {
  SecretBytes jefe("Jefe", 4);
  SecretBytes padded = jefe.PaddedTo(32);
  EXPECT_EQ(padded.size(), 32u);
  EXPECT_EQ(padded.view(), std::string("Jefe") + std::string(28, '\0'));
  EXPECT_EQ(jefe.view(), "Jefe");  // the original is untouched
}

TEST(SecretBytesTest, PaddedToNeverTruncates) {
  SecretBytes long_secret("0123456789", 10);
  EXPECT_EQ(long_secret.PaddedTo(4).view(), "0123456789");
  EXPECT_EQ(long_secret.PaddedTo(10).view(), "0123456789");
}

TEST(SecretBytesTest, PaddedToOfEmptyIsAllZeros) {
  SecretBytes empty;
  EXPECT_EQ(empty.PaddedTo(3).view(), std::string(3, '\0'));
  EXPECT_TRUE(empty.PaddedTo(0).empty());
}

TEST(SecretBytesTest, MoveLeavesSourceEmpty) {
  SecretBytes a("abc", 3);
  SecretBytes b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.view(), "abc");
  SecretBytes c("xy", 2);
  c = std::move(b);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(c.view(), "abc");
}

TEST(SecretBytesTest, ClearEmpties) {
  SecretBytes bytes("abc", 3);
  bytes.Clear();
  EXPECT_TRUE(bytes.empty());
  EXPECT_EQ(bytes.data(), nullptr);
}

}  // namespace
}  // namespace idsign::hsm
