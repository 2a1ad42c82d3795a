#include "secrets/value_sealer.h"

namespace ironflow::server {

Result<SealedValue> ValueSealer::Seal(std::string_view environment, std::string_view name,
                                      std::string_view plaintext) const {
  SealedValue out;
  if (!key_) {
    out.algorithm = std::string(kAlgorithmNone);
    out.plaintext = SecretString(plaintext);
    return out;
  }
  if (budget_ != nullptr) {
    IF_RETURN_IF_ERROR(budget_->Take().status());
  }
  IF_ASSIGN_OR_RETURN(auto box, key_->Seal(AsBytes(plaintext), AsBytes(SecretAad(environment, name))));
  out.algorithm = std::string(kAlgorithmAesGcm);
  out.key_id = key_->key_id();
  out.nonce = std::move(box.nonce);
  out.ciphertext = std::move(box.ciphertext);
  return out;
}

Result<SecretString> ValueSealer::Open(std::string_view environment, std::string_view name,
                                       const SealedValue& sealed) const {
  if (!sealed.encrypted()) return SecretString(sealed.plaintext.view());
  if (!key_) {
    return Status::Unavailable("secret \"" + std::string(name) + "\" is encrypted but no master key is configured");
  }
  const MasterKey* key = sealed.key_id == key_->key_id()                     ? &*key_
                         : previous_ && sealed.key_id == previous_->key_id() ? &*previous_
                                                                             : nullptr;
  if (key == nullptr) {
    return Status::Internal("secret \"" + std::string(name) + "\" is encrypted with key id " + sealed.key_id +
                            ", but the server's key id is " + key_->key_id() +
                            (previous_ ? " (previous " + previous_->key_id() + ")" : std::string()) +
                            "; set IRONFLOW_MASTER_KEY_PREVIOUS to the key that wrote it");
  }
  auto plain = key->Open(SealedBox{sealed.nonce, sealed.ciphertext}, AsBytes(SecretAad(environment, name)));
  if (!plain.ok()) {
    return Status::Internal("secret \"" + std::string(name) + "\" in environment \"" + std::string(environment) +
                            "\" failed to authenticate");
  }
  return SecretString(plain->as_string_view());
}

}  // namespace ironflow::server
