// Several processes, like the server and CLI invocations, appending to one
// audit file at the same time (AppendNow and FileAuditLog): flock keeps one
// valid chain and no record is lost.
//
// The parent forks before it ever loads the PKCS#11 module, so each child
// initialises its own module instance; this binary holds only this test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hsm/module.h"
#include "hsm/token.h"
#include "service/audit/audit_key.h"
#include "service/audit/file_audit_log.h"
#include "service/audit/verify.h"
#include "tests/integration/audit/audit_test_util.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::audit {
namespace {

using ::idsign::audit::test::MakeRecord;
using ::idsign::audit::test::ReadLines;
using ::idsign::testing::IsOk;
using ::idsign::testing::TestToken;
using ::testing::ElementsAre;

// Runs `body` in a child with its own module and logged-in token; the child
// leaves with _exit so that no exit hook of the parent runs twice. Children
// start one at a time (SoftHSM2 may not see the token if C_Initialize runs
// while another process is using it) and run `body` once `go` closes.
class Children {
 public:
  Children() {
    if (pipe(go_) != 0) std::abort();
  }
  ~Children() { Go(); }

  void Spawn(const std::function<int(hsm::Token&)>& body) {
    int ready[2];
    if (pipe(ready) != 0) std::abort();
    const pid_t pid = fork();
    if (pid == 0) {
      close(go_[1]);
      close(ready[0]);
      _exit(RunChild(body, ready[1]));
    }
    close(ready[1]);
    char byte;
    while (read(ready[0], &byte, 1) < 0 && errno == EINTR) {
    }
    close(ready[0]);
    pids_.push_back(pid);
  }

  // Lets every child run its body.
  void Go() {
    if (go_[1] >= 0) close(go_[1]);
    go_[1] = -1;
  }

  // Exit codes, in spawn order.
  std::vector<int> Wait() {
    Go();
    std::vector<int> codes;
    for (pid_t pid : pids_) {
      int status = 0;
      if (waitpid(pid, &status, 0) != pid) {
        codes.push_back(-1);
      } else {
        codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status)
                                          : 128 + WTERMSIG(status));
      }
    }
    pids_.clear();
    return codes;
  }

 private:
  int RunChild(const std::function<int(hsm::Token&)>& body, int ready) {
    auto module = hsm::Module::Load(TestToken::module_path());
    if (!module.ok()) {
      std::fprintf(stderr, "child: %s\n", module.status().ToString().c_str());
      return 100;
    }
    const std::string& pin_text = TestToken::Get().pin();
    hsm::SecretBytes pin(pin_text.data(), pin_text.size());
    hsm::TokenOptions options;
    options.read_write = true;
    auto token =
        hsm::Token::Open(*module, TestToken::Get().label(), pin, options);
    if (!token.ok()) {
      std::fprintf(stderr, "child: %s\n", token.status().ToString().c_str());
      return 101;
    }
    close(ready);
    char byte;
    while (read(go_[0], &byte, 1) < 0 && errno == EINTR) {
    }
    return body(**token);
  }

  int go_[2] = {-1, -1};
  std::vector<pid_t> pids_;
};

TEST(AuditMultiProcessTest, ForkedWritersProduceOneValidChain) {
  const std::string path = TestToken::Get().dir() + "/multi.audit";
  {
    Children setup;
    setup.Spawn(
        [](hsm::Token& token) { return EnsureAuditKey(token).ok() ? 0 : 1; });
    ASSERT_THAT(setup.Wait(), ElementsAre(0));
  }

  constexpr int kCliEvents = 40;
  constexpr int kServerRecords = 150;
  Children children;
  for (int c = 0; c < 2; ++c) {
    children.Spawn([&path, c](hsm::Token& token) {
      for (int i = 0; i < kCliEvents; ++i) {
        Record event = MakeRecord(i, absl::StrCat("cli", c));
        if (!AppendNow(path, token, event).ok()) return 2;
      }
      return 0;
    });
  }
  for (int s = 0; s < 2; ++s) {
    children.Spawn([&path, s](hsm::Token& token) {
      FileAuditLogOptions options;
      options.checkpoint_every = 7;
      auto log = FileAuditLog::Open(path, &token, options);
      if (!log.ok()) return 3;
      for (int i = 0; i < kServerRecords; ++i) {
        if (!(*log)->Append(MakeRecord(i, absl::StrCat("server", s))).ok()) {
          return 4;
        }
        if (i % 20 == 0 && !(*log)->Flush().ok()) return 5;
      }
      return (*log)->Close().ok() ? 0 : 6;
    });
  }
  EXPECT_THAT(children.Wait(), ElementsAre(0, 0, 0, 0));

  std::unique_ptr<hsm::Token> token = TestToken::Get().Open(false);
  auto report = VerifyAuditLog(path, *token);
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->intact()) << FormatVerifyReport(*report);
  EXPECT_EQ(report->records, 2u * kCliEvents + 2u * kServerRecords);
  EXPECT_EQ(report->uncovered_records, 0u);

  std::map<std::string, int> per_writer;
  for (const std::string& line : ReadLines(path)) {
    auto parsed = ParseLine(line);
    ASSERT_THAT(parsed, IsOk());
    if (parsed->type == LineType::kRecord) {
      ++per_writer[parsed->record.operation];
    }
  }
  EXPECT_EQ(per_writer["cli0"], kCliEvents);
  EXPECT_EQ(per_writer["cli1"], kCliEvents);
  EXPECT_EQ(per_writer["server0"], kServerRecords);
  EXPECT_EQ(per_writer["server1"], kServerRecords);
}

}  // namespace
}  // namespace idsign::audit
