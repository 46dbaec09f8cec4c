// The identifier guard: Sign and BatchSign refuse an identifier that a JWT
// verifier could take for a JWS signing input, b64url(header) "."
// b64url(payload). user_hash and HS256 JWTs share one secret, so the MAC of
// such an identifier would be a valid JWT signature: plain Sign would be
// JWT-signing power. See docs/threat-model.md for why the rule is sound.
//
// The rule: refuse when the identifier contains a '.' and the text before
// the first '.', decoded as leniently as any base64 decoder would (either
// alphabet, other characters skipped, '=' skipped or restarting a group),
// starts, after whitespace, NUL bytes and byte-order marks, with '{' and
// contains a '}' further on: every JSON object, in UTF-8, UTF-16 or UTF-32,
// has both. Real user ids and e-mails practically never do.
//
// Thread safety: stateless. Ownership: none.
#ifndef IDSIGN_SERVICE_IDENTIFIER_GUARD_H_
#define IDSIGN_SERVICE_IDENTIFIER_GUARD_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace idsign::service {

// True when `identifier` has the shape described above.
bool LooksLikeJwsSigningInput(absl::string_view identifier);

// OK, or INVALID_ARGUMENT naming `field` ("identity.user_id") and what to
// do instead; the message never repeats the identifier.
absl::Status CheckIdentifierNotJws(absl::string_view identifier,
                                   absl::string_view field);

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_IDENTIFIER_GUARD_H_
