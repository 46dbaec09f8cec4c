#include "service/key_report.h"

#include <optional>
#include <string>

#include "google/protobuf/util/time_util.h"
#include "service/encoding.h"
#include "service/keys/scheme.h"
#include "service/rollout.h"

namespace idsign::service {
namespace {

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void SetIfKnown(const std::optional<bool>& value,
                void (v1::KeyAttributes::*set)(bool), v1::KeyAttributes* out) {
  if (value.has_value()) (out->*set)(*value);
}

v1::KeyVersionState State(const keys::KeyVersionEntry& entry) {
  switch (entry.meta.state()) {
    case keys::ring::VERSION_STATE_ENABLED:
      return v1::KEY_VERSION_STATE_ENABLED;
    case keys::ring::VERSION_STATE_DISABLED:
      return v1::KEY_VERSION_STATE_DISABLED;
    case keys::ring::VERSION_STATE_DESTROYED:
      return v1::KEY_VERSION_STATE_DESTROYED;
    default:
      return v1::KEY_VERSION_STATE_UNSPECIFIED;
  }
}

v1::KeyOrigin Origin(const keys::KeyVersionEntry& entry) {
  if (entry.object && entry.object->local.has_value()) {
    return *entry.object->local ? v1::KEY_ORIGIN_GENERATED
                                : v1::KEY_ORIGIN_IMPORTED;
  }
  switch (entry.meta.origin()) {
    case keys::ring::ORIGIN_IMPORTED:
      return v1::KEY_ORIGIN_IMPORTED;
    case keys::ring::ORIGIN_GENERATED:
      return v1::KEY_ORIGIN_GENERATED;
    default:
      return v1::KEY_ORIGIN_UNSPECIFIED;
  }
}

void FillObject(const hsm::SecretKeyInfo& object, v1::KeyVersion* out) {
  out->set_object_id(LowerHex(AsBytes(object.id)));
  out->set_size_bytes(static_cast<uint32_t>(object.value_len.value_or(0)));
  out->set_key_type(hsm::KeyTypeName(object.key_type));
  if (!object.check_value.empty()) {
    out->set_check_value(LowerHex(AsBytes(object.check_value)));
  }
  v1::KeyAttributes* a = out->mutable_attributes();
  SetIfKnown(object.sensitive, &v1::KeyAttributes::set_sensitive, a);
  SetIfKnown(object.always_sensitive, &v1::KeyAttributes::set_always_sensitive,
             a);
  SetIfKnown(object.extractable, &v1::KeyAttributes::set_extractable, a);
  SetIfKnown(object.never_extractable,
             &v1::KeyAttributes::set_never_extractable, a);
  SetIfKnown(object.modifiable, &v1::KeyAttributes::set_modifiable, a);
  SetIfKnown(object.copyable, &v1::KeyAttributes::set_copyable, a);
  SetIfKnown(object.local, &v1::KeyAttributes::set_local, a);
  SetIfKnown(object.token, &v1::KeyAttributes::set_token, a);
  SetIfKnown(object.is_private, &v1::KeyAttributes::set_private_, a);
  const std::pair<const std::optional<bool>*, const char*> usages[] = {
      {&object.sign, "sign"},       {&object.verify, "verify"},
      {&object.encrypt, "encrypt"}, {&object.decrypt, "decrypt"},
      {&object.wrap, "wrap"},       {&object.unwrap, "unwrap"},
      {&object.derive, "derive"}};
  for (const auto& [value, name] : usages) {
    if (value->value_or(false)) out->add_usages(name);
  }
}

}  // namespace

v1::ListKeysResponse BuildKeyReport(const std::vector<keys::KeyEntry>& keys,
                                    const hsm::TokenDescription& token) {
  v1::ListKeysResponse report;
  v1::TokenInfo* info = report.mutable_token();
  info->set_label(token.label);
  info->set_manufacturer(token.manufacturer);
  info->set_model(token.model);
  info->set_serial(token.serial);
  info->set_firmware(token.firmware);
  for (const keys::KeyEntry& entry : keys) {
    v1::Key* key = report.add_keys();
    key->set_name(entry.name);
    key->set_primary_version(entry.primary_version);
    key->set_min_verify_version(entry.min_verify_version);
    key->set_problem(entry.problem);
    key->set_ring_generation(entry.generation);
    key->set_rollout_mode(ToProto(entry.rollout_mode));
    const keys::KeyVersionEntry* primary = entry.Primary();
    key->set_usable(entry.problem.empty() && primary != nullptr &&
                    primary->usable());
    for (const keys::KeyVersionEntry& version : entry.versions) {
      v1::KeyVersion* out = key->add_versions();
      out->set_version(version.version);
      out->set_state(State(version));
      out->set_primary(version.version == entry.primary_version);
      out->set_origin(Origin(version));
      if (version.object) {
        FillObject(*version.object, out);
      } else {
        out->set_object_id(LowerHex(AsBytes(version.meta.object_id())));
        out->set_check_value(LowerHex(AsBytes(version.meta.check_value())));
      }
      if (version.meta.created_at_unix_ms() != 0) {
        *out->mutable_created_at() =
            google::protobuf::util::TimeUtil::MillisecondsToTimestamp(
                version.meta.created_at_unix_ms());
      }
      out->set_created_by(version.meta.created_by());
      // A version the ring does not list has no scheme to report.
      if (version.meta.version() != 0) {
        out->set_scheme(keys::ParseScheme(version.meta.scheme()).has_value()
                            ? keys::SchemeName(version.scheme)
                            : version.meta.scheme());
      }
      std::optional<size_t> stored_bytes;
      if (version.object && version.object->value_len.has_value()) {
        stored_bytes = *version.object->value_len;
      }
      for (std::string& weakness :
           keys::SchemeWeaknesses(version.scheme, stored_bytes)) {
        out->add_weaknesses(std::move(weakness));
      }
      out->set_weak(out->weaknesses_size() > 0);
      out->mutable_policy()->set_allowed(version.refusals.empty());
      for (const std::string& reason : version.refusals) {
        out->mutable_policy()->add_reasons(reason);
      }
    }
  }
  return report;
}

}  // namespace idsign::service
