#include "crypto/master_key.h"

#include "common/hex.h"
#include "crypto/digest.h"

namespace ironflow::server {
namespace {
constexpr std::string_view kKeyIdLabel = "ironflow/key-id/v1";
constexpr std::string_view kFingerprintLabel = "ironflow/request-fingerprint/v1";
constexpr std::string_view kBackupMacLabel = "ironflow/backup-mac/v1";

SecureBytes Derive(ByteView key32, std::string_view label) {
  auto mac = HmacSha256(key32, AsBytes(label));
  SecureBytes out{ByteView(mac)};
  Cleanse(mac);
  return out;
}
}  // namespace

Result<MasterKey> MasterKey::FromHex(std::string_view hex) {
  if (hex.size() != 2 * Aes256Gcm::kKeyBytes) {
    return Status::InvalidArgument("IRONFLOW_MASTER_KEY must be exactly 64 hex characters (32 bytes); got " +
                                   std::to_string(hex.size()) + " characters");
  }
  auto bytes = HexDecode(hex);
  if (!bytes) return Status::InvalidArgument("IRONFLOW_MASTER_KEY must contain only hex characters 0-9, a-f");
  SecureBytes key{ByteView(*bytes)};
  Cleanse(*bytes);
  return FromBytes(key.view());
}

MasterKey MasterKey::FromBytes(ByteView key32) {
  auto mac = HmacSha256(key32, AsBytes(kKeyIdLabel));
  return MasterKey(key32, HexEncode(mac.data(), 8), Derive(key32, kFingerprintLabel), Derive(key32, kBackupMacLabel));
}

Result<SealedBox> MasterKey::Seal(ByteView plaintext, ByteView aad) const {
  SealedBox box;
  box.nonce = RandomBytes(Aes256Gcm::kNonceBytes);
  IF_ASSIGN_OR_RETURN(auto ct, aead_.Seal(box.nonce, plaintext, aad));
  box.ciphertext = std::move(ct);
  return box;
}

Result<SecureBytes> MasterKey::Open(const SealedBox& box, ByteView aad) const {
  return aead_.Open(box.nonce, box.ciphertext, aad);
}

}  // namespace ironflow::server
