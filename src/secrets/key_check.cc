#include "secrets/key_check.h"

#include <nlohmann/json.hpp>

#include "common/hex.h"
#include "common/time_util.h"

namespace ironflow {
namespace {

using nlohmann::json;
constexpr std::string_view kCheckText = "ironflow key check v1";
constexpr std::string_view kCheckAad = "ironflow/keycheck/v1";

std::string StoredKeyId(const KvEntry& entry) {
  json doc = json::parse(entry.value, nullptr, false);
  if (!doc.is_object() || !doc.contains("key_id") || !doc["key_id"].is_string()) return "";
  return doc["key_id"].get<std::string>();
}

Result<std::string> NewRecord(const MasterKey& key) {
  auto box = key.Seal(AsBytes(kCheckText), AsBytes(kCheckAad));
  if (!box.ok()) return box.status();
  json doc = {{"key_id", key.key_id()},
              {"algorithm", "AES-256-GCM"},
              {"nonce", Base64Encode(box->nonce.data(), box->nonce.size())},
              {"check", Base64Encode(box->ciphertext.data(), box->ciphertext.size())},
              {"created_at", FormatRfc3339(NowUnixMillis())}};
  return doc.dump();
}

Status CheckAgainstRecord(const KvEntry& entry, const MasterKey* key) {
  json doc = json::parse(entry.value, nullptr, false);
  if (!doc.is_object() || !doc.contains("key_id") || !doc["key_id"].is_string()) {
    return Status::Internal("the key-check record in bucket ironflow-system is malformed; refusing to start");
  }
  std::string stored_id = doc["key_id"].get<std::string>();
  if (key == nullptr) {
    return Status::PreconditionFailed(
        "stored secrets are encrypted with master key id " + stored_id +
        ", but IRONFLOW_MASTER_KEY is not set; set it to that key (dev mode cannot read encrypted data)");
  }
  if (stored_id != key->key_id()) {
    return Status::PreconditionFailed("IRONFLOW_MASTER_KEY has key id " + key->key_id() +
                                      ", but the stored data was written with key id " + stored_id +
                                      "; refusing to start (nothing was changed)");
  }
  auto nonce = doc.contains("nonce") ? Base64Decode(doc["nonce"].get<std::string>()) : std::nullopt;
  auto check = doc.contains("check") ? Base64Decode(doc["check"].get<std::string>()) : std::nullopt;
  if (!nonce || !check) return Status::Internal("the key-check record is malformed; refusing to start");
  auto opened = key->Open(SealedBox{*nonce, *check}, AsBytes(kCheckAad));
  if (!opened.ok() || opened->as_string_view() != kCheckText) {
    return Status::PreconditionFailed("IRONFLOW_MASTER_KEY (key id " + key->key_id() +
                                      ") does not open the stored key-check record; refusing to start");
  }
  return Status::Ok();
}

}  // namespace

Status VerifyOrRecordMasterKey(KvBucket& system_bucket, const MasterKey* key, const MasterKey* previous) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto existing = system_bucket.Get(kKeyCheckKey);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) {
      const KvEntry& entry = **existing;
      if (key != nullptr && previous != nullptr && StoredKeyId(entry) == previous->key_id() &&
          previous->key_id() != key->key_id()) {
        // Rotation: prove the previous key is the one the data was written with, then move the record.
        IF_RETURN_IF_ERROR(CheckAgainstRecord(entry, previous));
        auto doc = NewRecord(*key);
        if (!doc.ok()) return doc.status();
        auto rev = system_bucket.Update(kKeyCheckKey, *doc, entry.revision);
        if (rev.ok()) return Status::Ok();
        if (!rev.status().is(Code::kConflict)) return rev.status();
        continue;  // another server moved it first: verify against what it wrote
      }
      return CheckAgainstRecord(entry, key);
    }
    if (key == nullptr) return Status::Ok();  // dev mode on a store that has never held encrypted data

    auto doc = NewRecord(*key);
    if (!doc.ok()) return doc.status();
    auto rev = system_bucket.Create(kKeyCheckKey, *doc);
    if (rev.ok()) return Status::Ok();
    if (!rev.status().is(Code::kConflict)) return rev.status();
    // Another server recorded its key first: loop and verify against it.
  }
  return Status::Unavailable("could not read or write the key-check record");
}

}  // namespace ironflow
