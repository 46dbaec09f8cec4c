#include "tests/integration/service/jwt_test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/testing/oracle.h"

namespace idsign::service::testing {

std::string B64Url(absl::string_view bytes) {
  return absl::WebSafeBase64Escape(bytes);
}

std::string B64UrlDecode(absl::string_view text) {
  std::string out;
  if (!absl::WebSafeBase64Unescape(text, &out)) return "<not base64url>";
  return out;
}

std::string OracleJwt(absl::string_view secret, absl::string_view header,
                      absl::string_view payload) {
  const std::string input = absl::StrCat(B64Url(header), ".", B64Url(payload));
  return absl::StrCat(
      input, ".", B64Url(idsign::testing::OpenSslHmacSha256(secret, input)));
}

std::vector<std::string> Segments(absl::string_view jwt) {
  return absl::StrSplit(jwt, '.');
}

CommandResult RunPython(const std::string& script,
                        const std::vector<std::string>& args) {
  CommandResult result;
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return result;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    std::vector<char*> argv;
    std::string python = IDSIGN_TEST_PYTHON3;
    std::string dash_c = "-c";
    std::string code = script;
    argv.push_back(python.data());
    argv.push_back(dash_c.data());
    argv.push_back(code.data());
    std::vector<std::string> copies = args;
    for (std::string& arg : copies) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(python.c_str(), argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  char buffer[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) {
    result.output.append(buffer, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  return result;
}

}  // namespace idsign::service::testing
