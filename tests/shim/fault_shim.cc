// idsign's fault-injecting PKCS#11 module for tests.
//
// It loads the real module named by IDSIGN_SHIM_TARGET (default: SoftHSM2),
// copies its CK_FUNCTION_LIST and replaces a few entries. Each replaced
// function first reads the file named by IDSIGN_SHIM_FAULT_FILE:
//
//   absent or empty          pass every call through
//   "CKR_DEVICE_REMOVED"     every replaced function returns that CK_RV
//   "CKR_DEVICE_ERROR C_Sign C_Verify"
//                            only the listed functions fail
//   "SHORT_OUTPUT C_DigestFinal"
//                            C_DigestFinal succeeds but reports one byte
//                            less than the real module wrote (a token that
//                            answers with the wrong length)
//   "HOLD C_Sign"            C_Sign blocks until the file no longer says
//                            HOLD for it, then acts on what the file says
//                            then (pass through, or another fault)
//
// The file is read on every call, so a test (or another process) can arm and
// disarm faults while a server runs. While calls are held, the file named
// "<fault file>.held" exists and holds how many calls of this process are
// held, so a test can wait for a call to be held instead of guessing when it
// is; it is removed when the last one is released. A held call re-reads the
// fault file every few milliseconds and gives up after 30 s with
// CKR_FUNCTION_CANCELED (and a line on stderr), so a test that forgets to
// release cannot hang. Calls that are not held go on meanwhile. To release
// into another fault, rename a new file into place: a held call reading a
// half-rewritten (empty) file would be released to pass through.
//
// A session on which a session-killing fault (device removed, device error,
// token absent, session closed or invalid) was injected stays dead: later calls
// on it return CKR_SESSION_HANDLE_INVALID even after disarming, as on a real
// HSM. Callers must close such sessions and open new ones.
//
// Replaced: C_OpenSession, C_GetSessionInfo, C_Login, C_FindObjectsInit,
// C_SignInit, C_Sign, C_VerifyInit, C_Verify, C_DigestKey (so a test can
// play a token that will not digest secret keys), C_DigestFinal;
// C_CloseSession and
// C_CloseAllSessions pass through and forget dead sessions.
//
// Thread safety: thread-safe. Only C_GetFunctionList is exported.
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

namespace {

constexpr char kDefaultTarget[] = "/usr/lib/softhsm/libsofthsm2.so";

// Not a real CK_RV: tells C_DigestFinal to shorten its output.
constexpr CK_RV kShortOutput = CKR_VENDOR_DEFINED | 0x1d5160;
// Not a real CK_RV either: tells the call to wait until released.
constexpr CK_RV kHold = CKR_VENDOR_DEFINED | 0x1d5161;

// How often a held call re-reads the fault file, and when it gives up.
constexpr std::chrono::milliseconds kHoldPoll(2);
constexpr std::chrono::seconds kHoldCap(30);

struct NamedRv {
  const char* name;
  CK_RV rv;
};

constexpr NamedRv kNamedRvs[] = {
    {"CKR_GENERAL_ERROR", CKR_GENERAL_ERROR},
    {"CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED},
    {"CKR_HOST_MEMORY", CKR_HOST_MEMORY},
    {"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},
    {"CKR_DEVICE_MEMORY", CKR_DEVICE_MEMORY},
    {"CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED},
    {"CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT},
    {"CKR_SESSION_CLOSED", CKR_SESSION_CLOSED},
    {"CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
    {"CKR_SESSION_COUNT", CKR_SESSION_COUNT},
    {"CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN},
    {"CKR_PIN_EXPIRED", CKR_PIN_EXPIRED},
    {"CKR_FUNCTION_CANCELED", CKR_FUNCTION_CANCELED},
    {"CKR_KEY_HANDLE_INVALID", CKR_KEY_HANDLE_INVALID},
    {"CKR_OBJECT_HANDLE_INVALID", CKR_OBJECT_HANDLE_INVALID},
    {"CKR_KEY_FUNCTION_NOT_PERMITTED", CKR_KEY_FUNCTION_NOT_PERMITTED},
    {"CKR_ACTION_PROHIBITED", CKR_ACTION_PROHIBITED},
    {"CKR_OPERATION_ACTIVE", CKR_OPERATION_ACTIVE},
    {"CKR_KEY_INDIGESTIBLE", CKR_KEY_INDIGESTIBLE},
    {"CKR_FUNCTION_NOT_SUPPORTED", CKR_FUNCTION_NOT_SUPPORTED},
    {"CKR_MECHANISM_INVALID", CKR_MECHANISM_INVALID},
    {"SHORT_OUTPUT", kShortOutput},
    {"HOLD", kHold},
};

bool KillsSession(CK_RV rv) {
  return rv == CKR_DEVICE_REMOVED || rv == CKR_DEVICE_ERROR ||
         rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_SESSION_CLOSED ||
         rv == CKR_SESSION_HANDLE_INVALID;
}

struct Shim {
  CK_FUNCTION_LIST* real = nullptr;
  CK_FUNCTION_LIST list{};
  std::mutex mu;
  std::set<CK_SESSION_HANDLE> dead;  // guarded by mu
  std::mutex held_mu;
  int held = 0;  // calls held now; guarded by held_mu
};

Shim& shim() {
  static Shim* instance = new Shim();
  return *instance;
}

// The CK_RV to inject into `function` now, or CKR_OK to pass through.
CK_RV ArmedFault(const char* function) {
  const char* path = std::getenv("IDSIGN_SHIM_FAULT_FILE");
  if (path == nullptr || *path == '\0') return CKR_OK;
  std::ifstream file(path);
  if (!file) return CKR_OK;
  std::stringstream contents;
  contents << file.rdbuf();
  std::string name;
  if (!(contents >> name)) return CKR_OK;
  std::string listed;
  bool any_listed = false;
  bool selected = false;
  while (contents >> listed) {
    any_listed = true;
    if (listed == function) selected = true;
  }
  if (any_listed && !selected) return CKR_OK;
  for (const NamedRv& named : kNamedRvs) {
    if (name == named.name) return named.rv;
  }
  char* end = nullptr;
  unsigned long value = std::strtoul(name.c_str(), &end, 0);
  if (end != name.c_str() && *end == '\0' && value != CKR_OK) return value;
  std::fprintf(stderr,
               "idsign fault shim: unknown fault \"%s\" in %s; injecting "
               "CKR_GENERAL_ERROR\n",
               name.c_str(), path);
  return CKR_GENERAL_ERROR;
}

// Adds `delta` to the held count and publishes it in "<fault file>.held".
// The count is written to a temporary file renamed into place, so a reader
// never sees a partial one.
void CountHeld(int delta) {
  const char* path = std::getenv("IDSIGN_SHIM_FAULT_FILE");
  if (path == nullptr || *path == '\0') return;
  const std::string marker = std::string(path) + ".held";
  Shim& s = shim();
  std::lock_guard<std::mutex> lock(s.held_mu);
  s.held += delta;
  if (s.held <= 0) {
    std::remove(marker.c_str());
    return;
  }
  const std::string temporary = marker + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << s.held << "\n";
  }
  std::rename(temporary.c_str(), marker.c_str());
}

// Waits while the fault file arms HOLD for `function`. Returns the fault
// armed once released, or CKR_FUNCTION_CANCELED after kHoldCap.
CK_RV Hold(const char* function) {
  CountHeld(1);
  const auto give_up = std::chrono::steady_clock::now() + kHoldCap;
  CK_RV rv = kHold;
  while (rv == kHold) {
    if (std::chrono::steady_clock::now() >= give_up) {
      std::fprintf(stderr,
                   "idsign fault shim: %s held for %lld s and never "
                   "released; returning CKR_FUNCTION_CANCELED\n",
                   function, static_cast<long long>(kHoldCap.count()));
      rv = CKR_FUNCTION_CANCELED;
      break;
    }
    std::this_thread::sleep_for(kHoldPoll);
    rv = ArmedFault(function);
  }
  CountHeld(-1);
  return rv;
}

// The fault for `function`, once any hold is released.
CK_RV FaultAfterHold(const char* function) {
  CK_RV rv = ArmedFault(function);
  return rv == kHold ? Hold(function) : rv;
}

// The fault for `function` on `session`: a dead session stays dead.
CK_RV SessionFault(const char* function, CK_SESSION_HANDLE session) {
  Shim& s = shim();
  std::unique_lock<std::mutex> lock(s.mu);
  if (s.dead.count(session) > 0) return CKR_SESSION_HANDLE_INVALID;
  CK_RV rv = ArmedFault(function);
  if (rv == kHold) {
    // Without the lock, so that other calls go on meanwhile.
    lock.unlock();
    rv = Hold(function);
    lock.lock();
    if (s.dead.count(session) > 0) return CKR_SESSION_HANDLE_INVALID;
  }
  if (KillsSession(rv)) s.dead.insert(session);
  return rv;
}

CK_RV ShimOpenSession(CK_SLOT_ID slot, CK_FLAGS flags, void* application,
                      CK_NOTIFY notify, CK_SESSION_HANDLE* session) {
  CK_RV rv = FaultAfterHold("C_OpenSession");
  if (rv != CKR_OK) return rv;
  return shim().real->C_OpenSession(slot, flags, application, notify, session);
}

CK_RV ShimCloseSession(CK_SESSION_HANDLE session) {
  {
    std::lock_guard<std::mutex> lock(shim().mu);
    shim().dead.erase(session);
  }
  return shim().real->C_CloseSession(session);
}

CK_RV ShimCloseAllSessions(CK_SLOT_ID slot) {
  {
    std::lock_guard<std::mutex> lock(shim().mu);
    shim().dead.clear();
  }
  return shim().real->C_CloseAllSessions(slot);
}

CK_RV ShimGetSessionInfo(CK_SESSION_HANDLE session, CK_SESSION_INFO* info) {
  CK_RV rv = SessionFault("C_GetSessionInfo", session);
  if (rv != CKR_OK) return rv;
  return shim().real->C_GetSessionInfo(session, info);
}

CK_RV ShimLogin(CK_SESSION_HANDLE session, CK_USER_TYPE user_type,
                CK_UTF8CHAR* pin, CK_ULONG pin_len) {
  CK_RV rv = SessionFault("C_Login", session);
  if (rv != CKR_OK) return rv;
  return shim().real->C_Login(session, user_type, pin, pin_len);
}

CK_RV ShimFindObjectsInit(CK_SESSION_HANDLE session, CK_ATTRIBUTE* templ,
                          CK_ULONG count) {
  CK_RV rv = SessionFault("C_FindObjectsInit", session);
  if (rv != CKR_OK) return rv;
  return shim().real->C_FindObjectsInit(session, templ, count);
}

CK_RV ShimSignInit(CK_SESSION_HANDLE session, CK_MECHANISM* mechanism,
                   CK_OBJECT_HANDLE key) {
  CK_RV rv = SessionFault("C_SignInit", session);
  if (rv != CKR_OK) return rv;
  return shim().real->C_SignInit(session, mechanism, key);
}

CK_RV ShimSign(CK_SESSION_HANDLE session, CK_BYTE* data, CK_ULONG data_len,
               CK_BYTE* signature, CK_ULONG* signature_len) {
  CK_RV rv = SessionFault("C_Sign", session);
  if (rv != CKR_OK) return rv;
  return shim().real->C_Sign(session, data, data_len, signature, signature_len);
}

CK_RV ShimVerifyInit(CK_SESSION_HANDLE session, CK_MECHANISM* mechanism,
                     CK_OBJECT_HANDLE key) {
  CK_RV rv = SessionFault("C_VerifyInit", session);
  if (rv != CKR_OK) return rv;
  return shim().real->C_VerifyInit(session, mechanism, key);
}

CK_RV ShimVerify(CK_SESSION_HANDLE session, CK_BYTE* data, CK_ULONG data_len,
                 CK_BYTE* signature, CK_ULONG signature_len) {
  CK_RV rv = SessionFault("C_Verify", session);
  if (rv != CKR_OK) return rv;
  return shim().real->C_Verify(session, data, data_len, signature,
                               signature_len);
}

// An injected fault leaves the digest operation C_DigestInit started active
// in the real module, as a token that does not end it on error would.
CK_RV ShimDigestKey(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key) {
  CK_RV rv = SessionFault("C_DigestKey", session);
  if (rv != CKR_OK) return rv;
  return shim().real->C_DigestKey(session, key);
}

CK_RV ShimDigestFinal(CK_SESSION_HANDLE session, CK_BYTE* digest,
                      CK_ULONG* digest_len) {
  CK_RV rv = SessionFault("C_DigestFinal", session);
  if (rv != CKR_OK && rv != kShortOutput) return rv;
  CK_RV real = shim().real->C_DigestFinal(session, digest, digest_len);
  if (real == CKR_OK && rv == kShortOutput && digest != nullptr &&
      *digest_len > 0) {
    --*digest_len;
  }
  return real;
}

// Loads the target once; nullptr (with a message on stderr) on failure.
CK_FUNCTION_LIST* Load() {
  static std::once_flag once;
  static CK_FUNCTION_LIST* result = nullptr;
  std::call_once(once, [] {
    const char* target = std::getenv("IDSIGN_SHIM_TARGET");
    if (target == nullptr || *target == '\0') target = kDefaultTarget;
    void* library = dlopen(target, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
      std::fprintf(stderr, "idsign fault shim: cannot load %s: %s\n", target,
                   dlerror());
      return;
    }
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(
        dlsym(library, "C_GetFunctionList"));
    CK_FUNCTION_LIST* real = nullptr;
    if (get_list == nullptr || get_list(&real) != CKR_OK || real == nullptr) {
      std::fprintf(stderr, "idsign fault shim: %s has no function list\n",
                   target);
      return;
    }
    Shim& s = shim();
    s.real = real;
    s.list = *real;
    s.list.C_OpenSession = ShimOpenSession;
    s.list.C_CloseSession = ShimCloseSession;
    s.list.C_CloseAllSessions = ShimCloseAllSessions;
    s.list.C_GetSessionInfo = ShimGetSessionInfo;
    s.list.C_Login = ShimLogin;
    s.list.C_FindObjectsInit = ShimFindObjectsInit;
    s.list.C_SignInit = ShimSignInit;
    s.list.C_Sign = ShimSign;
    s.list.C_VerifyInit = ShimVerifyInit;
    s.list.C_Verify = ShimVerify;
    s.list.C_DigestKey = ShimDigestKey;
    s.list.C_DigestFinal = ShimDigestFinal;
    s.list.C_GetFunctionList = C_GetFunctionList;
    result = &s.list;
  });
  return result;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(
    CK_FUNCTION_LIST_PTR_PTR list) {
  if (list == nullptr) return CKR_ARGUMENTS_BAD;
  CK_FUNCTION_LIST* loaded = Load();
  if (loaded == nullptr) return CKR_GENERAL_ERROR;
  *list = loaded;
  return CKR_OK;
}
