// Helpers shared by the audit integration tests: temporary log paths, line
// access, records to append, and OpenSSL as the SHA-256 oracle for
// re-chaining tampered files.
#ifndef IDSIGN_TESTS_INTEGRATION_AUDIT_AUDIT_TEST_UTIL_H_
#define IDSIGN_TESTS_INTEGRATION_AUDIT_AUDIT_TEST_UTIL_H_

#include <openssl/evp.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "service/audit/record.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::audit::test {

// Lowercase hex SHA-256 computed by OpenSSL.
inline std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), size));
}

// A new path in the test token's directory.
inline std::string TempLogPath(absl::string_view name) {
  static std::atomic<int> counter{0};
  return absl::StrCat(testing::TestToken::Get().dir(), "/", name, "-",
                      counter++, ".audit");
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The file's lines without their newlines (the file must end in one).
inline std::vector<std::string> ReadLines(const std::string& path) {
  std::string text = ReadFile(path);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (text.empty()) return {};
  return absl::StrSplit(text, '\n');
}

inline void WriteLines(const std::string& path,
                       const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const std::string& line : lines) out << line << '\n';
}

// Recomputes "prev" of lines[from...] with OpenSSL, as someone who can
// rewrite the file but does not hold the audit key would.
inline void Rechain(std::vector<std::string>& lines, size_t from) {
  const std::string kField = "\"prev\":\"";
  for (size_t i = from; i < lines.size() && i > 0; ++i) {
    const size_t at = lines[i].find(kField);
    if (at == std::string::npos) continue;
    lines[i].replace(at + kField.size(), 64, Sha256Hex(lines[i - 1]));
  }
}

inline Record MakeRecord(int n, absl::string_view operation = "Sign") {
  Record record;
  record.time = absl::FromUnixMillis(1767323045000 + n);
  record.request_id = absl::StrCat("req-", n);
  record.caller = "ipv4:127.0.0.1:4000";
  record.operation = std::string(operation);
  record.key = "intercom/web/prod";
  record.versions = {1};
  record.items = 1;
  record.latency_us = 100 + n;
  return record;
}

}  // namespace idsign::audit::test

#endif  // IDSIGN_TESTS_INTEGRATION_AUDIT_AUDIT_TEST_UTIL_H_
