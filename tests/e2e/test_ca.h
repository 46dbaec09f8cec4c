// TestCa: a throwaway certificate authority for TLS end-to-end tests, made
// with the openssl command-line tool in the test token's scratch directory.
//
// Each TestCa has its own EC P-256 key and self-signed root; Issue() signs
// leaf certificates with chosen subject names, SANs and validity.
//
// Thread safety: use from one thread. Ownership: the files it writes live in
// the scratch directory, which the test token removes.
#ifndef IDSIGN_TESTS_E2E_TEST_CA_H_
#define IDSIGN_TESTS_E2E_TEST_CA_H_

#include <gtest/gtest.h>

#include <string>

namespace idsign::e2e {

struct CertFiles {
  std::string cert;  // PEM certificate
  std::string key;   // PEM private key
};

struct LeafSpec {
  std::string common_name;
  // openssl subjectAltName syntax, e.g. "URI:spiffe://x/y,DNS:a.example";
  // empty for none.
  std::string san;
  int days = 2;         // -1 makes a certificate that has already expired
  bool server = false;  // serverAuth instead of clientAuth
};

class TestCa {
 public:
  // Creates the CA's key and root certificate; check ok() afterwards.
  explicit TestCa(const std::string& name);

  // The root certificate, for --tls-ca and --client-ca.
  const std::string& cert() const { return root_.cert; }
  // Why creating the CA failed; empty when it did not.
  const std::string& error() const { return error_; }
  ::testing::AssertionResult ok() const;

  // Issues a leaf certificate; on failure the files are empty and the
  // result says why.
  ::testing::AssertionResult Issue(const LeafSpec& spec, CertFiles* out);

 private:
  std::string name_;
  CertFiles root_;
  std::string error_;
};

}  // namespace idsign::e2e

#endif  // IDSIGN_TESTS_E2E_TEST_CA_H_
