#include "runtime/signing_key.h"

#include "common/hex.h"
#include "common/time_util.h"
#include "crypto/digest.h"
#include "secrets/secret_record.h"

namespace ironflow {
namespace {
constexpr const char* kKey = "signingkey";
constexpr const char* kEnv = "_system";
constexpr const char* kName = "SIGNING_KEY";

Result<SecureBytes> FromHex(std::string_view hex, const char* what) {
  auto bytes = hex.size() == 64 ? HexDecode(hex) : std::nullopt;
  if (!bytes) return Status::InvalidArgument(std::string(what) + " must be exactly 64 hex characters");
  SecureBytes out{ByteView(*bytes)};
  Cleanse(*bytes);
  return out;
}
}  // namespace

Result<SecureBytes> LoadOrCreateSigningKey(KvBucket& bucket, const ValueSealer& sealer,
                                           const std::optional<std::string>& configured_hex) {
  if (configured_hex && !configured_hex->empty()) return FromHex(*configured_hex, "IRONFLOW_SIGNING_KEY");
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto e = bucket.Get(kKey);
    if (!e.ok()) return e.status();
    if (e->has_value()) {
      auto rec = DecodeSecretRecord((*e)->value);
      if (!rec.ok()) return Status::Internal("the stored signing key record is malformed");
      auto hex = sealer.Open(kEnv, kName, rec->value);
      if (!hex.ok()) return Status::Internal("the stored signing key cannot be opened: " + hex.status().message());
      if (sealer.encrypting() && (!rec->value.encrypted() || rec->value.key_id != sealer.key_id())) {
        // Written in dev mode, or under the previous master key during a rotation: seal it with the current key
        // (compare-and-set; a server that loses the race reads the winner's next time).
        auto sealed = sealer.Seal(kEnv, kName, hex->view());
        if (sealed.ok()) {
          Cleanse(rec->value.plaintext);
          const bool was_plaintext = !rec->value.encrypted();
          rec->value = std::move(sealed).value();
          std::string doc = EncodeSecretRecord(*rec);
          (void)bucket.Update(kKey, doc, (*e)->revision);
          Cleanse(doc);
          if (was_plaintext) (void)bucket.DropOldRevisions(kKey);
        }
      }
      return FromHex(hex->view(), "the stored signing key");
    }
    auto random = RandomBytes(32);
    std::string hex = HexEncode(random);
    Cleanse(random);
    auto sealed = sealer.Seal(kEnv, kName, hex);
    Cleanse(hex);
    if (!sealed.ok()) return sealed.status();
    SecretRecord rec;
    rec.environment = kEnv;
    rec.name = kName;
    rec.description = "push-mode request signing key";
    rec.created_at = rec.updated_at = FormatRfc3339(NowUnixMillis());
    rec.value = std::move(sealed).value();
    std::string doc = EncodeSecretRecord(rec);
    auto rev = bucket.Create(kKey, doc);
    Cleanse(doc);
    if (!rev.ok() && !rev.status().is(Code::kConflict)) return rev.status();
    // Loop: read back what won (ours, or another server's).
  }
  return Status::Unavailable("could not read or create the signing key");
}

}  // namespace ironflow
