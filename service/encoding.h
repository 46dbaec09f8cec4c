// Hex encoding of MACs for the wire.
//
// Thread safety: stateless. Ownership: none.
#ifndef IDSIGN_SERVICE_ENCODING_H_
#define IDSIGN_SERVICE_ENCODING_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace idsign::service {

std::string LowerHex(std::span<const uint8_t> bytes);

// Decodes exactly `bytes` bytes of upper- or lower-case hex. INVALID_ARGUMENT
// naming `field`, the expected length and the first bad position otherwise.
absl::StatusOr<std::vector<uint8_t>> DecodeHex(absl::string_view text,
                                               size_t bytes,
                                               absl::string_view field);

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_ENCODING_H_
