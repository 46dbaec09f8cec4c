#include "tests/e2e/test_ca.h"

#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/e2e/subprocess.h"

namespace idsign::e2e {
namespace {

RunResult Openssl(std::vector<std::string> args) {
  args.insert(args.begin(), IDSIGN_TEST_OPENSSL);
  return RunProcess(args, "", std::chrono::seconds(30));
}

}  // namespace

TestCa::TestCa(const std::string& name) : name_(name) {
  root_.key = ScratchPath(name + "-ca.key");
  root_.cert = ScratchPath(name + "-ca.pem");
  RunResult made = Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                            root_.key, "-out", root_.cert, "-days", "2",
                            "-subj", "/CN=" + name + " test CA"});
  if (made.exit_code != 0) error_ = made.Describe();
}

::testing::AssertionResult TestCa::ok() const {
  if (error_.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "cannot create CA " << name_ << ": " << error_;
}

::testing::AssertionResult TestCa::Issue(const LeafSpec& spec, CertFiles* out) {
  *out = {};
  const std::string stem = absl::StrCat(name_, "-", spec.common_name);
  CertFiles leaf{ScratchPath(stem + ".pem"), ScratchPath(stem + ".key")};
  const std::string csr = ScratchPath(stem + ".csr");
  const std::string extensions = ScratchPath(stem + ".ext");
  {
    std::ofstream ext(extensions);
    ext << "basicConstraints=critical,CA:FALSE\n"
        << "keyUsage=critical,digitalSignature,keyEncipherment\n"
        << "extendedKeyUsage=" << (spec.server ? "serverAuth" : "clientAuth")
        << "\n";
    if (!spec.san.empty()) ext << "subjectAltName=" << spec.san << "\n";
  }
  RunResult request =
      Openssl({"req", "-new", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", leaf.key,
               "-out", csr, "-subj", "/CN=" + spec.common_name});
  if (request.exit_code != 0) {
    return ::testing::AssertionFailure()
           << "openssl req: " << request.Describe();
  }
  RunResult signed_cert =
      Openssl({"x509", "-req", "-in", csr, "-CA", root_.cert, "-CAkey",
               root_.key, "-days", absl::StrCat(spec.days), "-extfile",
               extensions, "-out", leaf.cert});
  if (signed_cert.exit_code != 0) {
    return ::testing::AssertionFailure()
           << "openssl x509: " << signed_cert.Describe();
  }
  *out = leaf;
  return ::testing::AssertionSuccess();
}

}  // namespace idsign::e2e
