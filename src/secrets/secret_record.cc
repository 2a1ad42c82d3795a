#include "secrets/secret_record.h"

#include <nlohmann/json.hpp>

#include "common/bounded_json.h"
#include "common/hex.h"
#include "crypto/secure_bytes.h"

namespace ironflow::server {

using nlohmann::json;

SealedValue::SealedValue(const SealedValue& other)
    : algorithm(other.algorithm),
      key_id(other.key_id),
      nonce(other.nonce),
      ciphertext(other.ciphertext),
      plaintext(other.plaintext.Clone()) {}

SealedValue& SealedValue::operator=(const SealedValue& other) {
  if (this != &other) *this = SealedValue(other);
  return *this;
}

std::string SecretAad(std::string_view environment, std::string_view name) {
  std::string aad = "ironflow/secret/v" + std::to_string(kSecretFormatVersion);
  aad.push_back('\0');
  aad.append(environment);
  aad.push_back('\0');
  aad.append(name);
  return aad;
}

std::string SecretKey(std::string_view environment, std::string_view name) {
  std::string key(environment);
  key.push_back('.');
  key.append(name);
  return key;
}

bool SplitSecretKey(std::string_view key, std::string* environment, std::string* name) {
  size_t dot = key.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == key.size()) return false;
  *environment = std::string(key.substr(0, dot));
  *name = std::string(key.substr(dot + 1));
  return true;
}

std::string EncodeSecretRecord(const SecretRecord& r) {
  json value;
  if (r.value.encrypted()) {
    value = {{"alg", r.value.algorithm},
             {"key_id", r.value.key_id},
             {"nonce", Base64Encode(r.value.nonce.data(), r.value.nonce.size())},
             {"ciphertext", Base64Encode(r.value.ciphertext.data(), r.value.ciphertext.size())}};
  } else {
    value = {{"alg", kAlgorithmNone}, {"plaintext", std::string(r.value.plaintext.view())}};
  }
  json doc = {{"format", kSecretFormatVersion},
              {"environment", r.environment},
              {"name", r.name},
              {"description", r.description},
              {"created_at", r.created_at},
              {"updated_at", r.updated_at},
              {"updated_by", {{"type", r.updated_by.type}, {"id", r.updated_by.id}, {"name", r.updated_by.name}}},
              {"value", std::move(value)}};
  std::string out = doc.dump();
  if (!r.value.encrypted()) {
    // The json tree held a copy of the dev-mode plaintext; wipe it before it is freed.
    Cleanse(doc["value"]["plaintext"].get_ref<std::string&>());
  }
  return out;
}

Result<SecretRecord> DecodeSecretRecord(std::string_view bytes) {
  json doc = ParseBoundedJson(bytes);
  auto bad = [] { return Status::Internal("stored secret record is malformed"); };
  if (!doc.is_object()) return bad();
  try {
    if (doc.at("format").get<int>() != kSecretFormatVersion) {
      return Status::Internal("stored secret record has an unsupported format version");
    }
    SecretRecord r;
    r.environment = doc.at("environment").get<std::string>();
    r.name = doc.at("name").get<std::string>();
    r.description = doc.at("description").get<std::string>();
    r.created_at = doc.at("created_at").get<std::string>();
    r.updated_at = doc.at("updated_at").get<std::string>();
    if (auto by = doc.find("updated_by"); by != doc.end() && by->is_object()) {
      r.updated_by.type = by->value("type", "");
      r.updated_by.id = by->value("id", "");
      r.updated_by.name = by->value("name", "");
    }
    json& v = doc.at("value");
    r.value.algorithm = v.at("alg").get<std::string>();
    if (r.value.algorithm == kAlgorithmNone) {
      std::string& plain = v.at("plaintext").get_ref<std::string&>();
      r.value.plaintext = SecretString(std::string_view(plain));
      Cleanse(plain);
    } else if (r.value.algorithm == kAlgorithmAesGcm) {
      r.value.key_id = v.at("key_id").get<std::string>();
      auto nonce = Base64Decode(v.at("nonce").get<std::string>());
      auto ct = Base64Decode(v.at("ciphertext").get<std::string>());
      if (!nonce || !ct) return bad();
      r.value.nonce = std::move(*nonce);
      r.value.ciphertext = std::move(*ct);
    } else {
      return Status::Internal("stored secret record uses an unknown algorithm");
    }
    return r;
  } catch (const json::exception&) {
    return bad();
  }
}

}  // namespace ironflow::server
