#include "hsm/module.h"

#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "hsm/ckr.h"
#include "hsm/log.h"
#include "hsm/status_macros.h"

namespace idsign::hsm {
namespace {

struct UriDeleter {
  void operator()(P11KitUri* uri) const { p11_kit_uri_free(uri); }
};

}  // namespace

std::string TrimPadded(const unsigned char* field, size_t size) {
  std::string out(reinterpret_cast<const char*>(field), size);
  size_t end = out.find_last_not_of(" \0", std::string::npos, 2);
  out.resize(end == std::string::npos ? 0 : end + 1);
  return out;
}

absl::StatusOr<std::shared_ptr<Module>> Module::Load(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("PKCS#11 module path is empty");
  }
  CK_FUNCTION_LIST* fn =
      p11_kit_module_load(path.c_str(), P11_KIT_MODULE_UNMANAGED);
  if (fn == nullptr) {
    const char* why = p11_kit_message();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot load PKCS#11 module ", path, ": ",
                     why != nullptr ? why : "unknown error"));
  }
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  CK_RV rv = fn->C_Initialize(&args);
  bool finalize = true;
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    // Someone else in this process initialised it; they finalise it.
    finalize = false;
  } else if (rv != CKR_OK) {
    p11_kit_module_release(fn);
    absl::Status status = CkStatus("C_Initialize", rv);
    return absl::Status(status.code(), absl::StrCat("PKCS#11 module ", path,
                                                    ": ", status.message()));
  }
  log::Debug("pkcs11_module_loaded", absl::StrCat("path=", log::Quote(path)));
  return std::shared_ptr<Module>(new Module(path, fn, finalize));
}

Module::Module(std::string path, CK_FUNCTION_LIST* fn, bool finalize)
    : path_(std::move(path)), fn_(fn), finalize_(finalize) {}

Module::~Module() {
  if (finalize_) {
    CK_RV rv = fn_->C_Finalize(nullptr);
    if (rv != CKR_OK) log::Warning("pkcs11_finalize_failed", CkrName(rv));
  }
  p11_kit_module_release(fn_);
}

absl::StatusOr<TokenDescription> Module::Describe(CK_SLOT_ID slot) const {
  CK_TOKEN_INFO info;
  RETURN_IF_ERROR(CkStatus("C_GetTokenInfo", fn_->C_GetTokenInfo(slot, &info)));
  TokenDescription d;
  d.label = TrimPadded(info.label, sizeof(info.label));
  d.manufacturer = TrimPadded(info.manufacturerID, sizeof(info.manufacturerID));
  d.model = TrimPadded(info.model, sizeof(info.model));
  d.serial = TrimPadded(info.serialNumber, sizeof(info.serialNumber));
  d.firmware =
      absl::StrCat(info.firmwareVersion.major, ".", info.firmwareVersion.minor);
  return d;
}

absl::StatusOr<CK_SLOT_ID> Module::FindSlot(absl::string_view token) const {
  if (token.empty()) {
    return absl::InvalidArgumentError(
        "no token given: pass --token=LABEL or --token=pkcs11:token=LABEL");
  }
  std::unique_ptr<P11KitUri, UriDeleter> uri;
  const bool is_uri = absl::StartsWith(token, "pkcs11:");
  if (is_uri) {
    uri.reset(p11_kit_uri_new());
    std::string text(token);
    int rc = p11_kit_uri_parse(text.c_str(), P11_KIT_URI_FOR_TOKEN, uri.get());
    if (rc != P11_KIT_URI_OK) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid PKCS#11 URI: ", p11_kit_uri_message(rc)));
    }
    if (p11_kit_uri_get_pin_value(uri.get()) != nullptr) {
      return absl::InvalidArgumentError(
          "the PKCS#11 URI carries pin-value; PINs are read from --pin-file "
          "only");
    }
  }
  CK_ULONG count = 0;
  RETURN_IF_ERROR(
      CkStatus("C_GetSlotList", fn_->C_GetSlotList(CK_TRUE, nullptr, &count)));
  std::vector<CK_SLOT_ID> slots(count);
  RETURN_IF_ERROR(CkStatus("C_GetSlotList",
                           fn_->C_GetSlotList(CK_TRUE, slots.data(), &count)));
  slots.resize(count);
  std::vector<CK_SLOT_ID> matches;
  std::vector<std::string> seen;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info;
    if (fn_->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    std::string label = TrimPadded(info.label, sizeof(info.label));
    if (!(info.flags & CKF_TOKEN_INITIALIZED)) continue;
    seen.push_back(label);
    bool match = is_uri ? p11_kit_uri_match_token_info(uri.get(), &info) == 1
                        : label == token;
    if (match) matches.push_back(slot);
  }
  if (matches.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no token matching \"", token, "\" in ", path_, " (tokens present: ",
        seen.empty() ? "none" : absl::StrJoin(seen, ", "), ")"));
  }
  if (matches.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(matches.size(), " tokens match \"", token,
                     "\"; use a pkcs11: URI with serial= to pick one"));
  }
  return matches.front();
}

}  // namespace idsign::hsm
