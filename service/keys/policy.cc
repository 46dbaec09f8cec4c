#include "service/keys/policy.h"

#include "absl/strings/str_cat.h"

namespace idsign::keys {
namespace {

// Adds a reason unless the attribute is known to have the required value.
void Require(const std::optional<bool>& value, bool required,
             const char* attribute, std::vector<std::string>* reasons) {
  if (!value.has_value()) {
    reasons->push_back(absl::StrCat(attribute, " is not reported"));
  } else if (*value != required) {
    reasons->push_back(
        absl::StrCat(attribute, " is ", *value ? "true" : "false"));
  }
}

}  // namespace

std::vector<std::string> PolicyViolations(const hsm::SecretKeyInfo& object) {
  std::vector<std::string> reasons;
  if (object.token.has_value() && !*object.token) {
    reasons.push_back("it is a session object (CKA_TOKEN is false)");
  } else {
    Require(object.token, true, "CKA_TOKEN", &reasons);
  }
  Require(object.sensitive, true, "CKA_SENSITIVE", &reasons);
  Require(object.extractable, false, "CKA_EXTRACTABLE", &reasons);
  Require(object.modifiable, false, "CKA_MODIFIABLE", &reasons);
  Require(object.derive, false, "CKA_DERIVE", &reasons);
  Require(object.encrypt, false, "CKA_ENCRYPT", &reasons);
  Require(object.decrypt, false, "CKA_DECRYPT", &reasons);
  Require(object.wrap, false, "CKA_WRAP", &reasons);
  Require(object.unwrap, false, "CKA_UNWRAP", &reasons);
  return reasons;
}

}  // namespace idsign::keys
