#include "secrets/key_check.h"

#include <spdlog/spdlog.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/bounded_json.h"
#include "common/hex.h"
#include "common/time_util.h"
#include "secrets/secret_record.h"
#include "secrets/secret_store.h"

namespace ironflow::server {
namespace {

using nlohmann::json;
constexpr std::string_view kCheckText = "ironflow key check v1";
constexpr std::string_view kCheckAad = "ironflow/keycheck/v1";

std::string StoredKeyId(const KvEntry& entry) {
  json doc = ParseBoundedJson(entry.value);
  if (!doc.is_object() || !doc.contains("key_id") || !doc["key_id"].is_string()) return "";
  return doc["key_id"].get<std::string>();
}

Result<std::string> NewRecord(const MasterKey& key) {
  IF_ASSIGN_OR_RETURN(auto box, key.Seal(AsBytes(kCheckText), AsBytes(kCheckAad)));
  json doc = {{"key_id", key.key_id()},
              {"algorithm", "AES-256-GCM"},
              {"nonce", Base64Encode(box.nonce.data(), box.nonce.size())},
              {"check", Base64Encode(box.ciphertext.data(), box.ciphertext.size())},
              {"created_at", FormatRfc3339(NowUnixMillis())}};
  return doc.dump();
}

Status CheckAgainstRecord(const KvEntry& entry, const MasterKey* key) {
  json doc = ParseBoundedJson(entry.value);
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

// What the store holds that only a master key could have written, found when the key-check record is missing.
struct SealedEvidence {
  std::map<std::string, SecretRecord> sample_by_key_id;  // one sealed record per key id (to prove a key with)
  std::set<std::string> key_ids;                         // from sealed records and nonce counters
  size_t sealed_records = 0;
};

void AddRecord(const KvEntry& e, SealedEvidence* out) {
  auto record = DecodeSecretRecord(e.value);
  if (!record.ok() || !record->value.encrypted()) return;
  ++out->sealed_records;
  out->key_ids.insert(record->value.key_id);
  out->sample_by_key_id.try_emplace(record->value.key_id, std::move(record).value());
}

Result<SealedEvidence> FindSealedEvidence(KvBucket& system_bucket, KvBucket& secrets_bucket) {
  SealedEvidence out;
  IF_ASSIGN_OR_RETURN(auto secrets, secrets_bucket.List(">"));
  for (const auto& e : secrets) AddRecord(e, &out);
  IF_ASSIGN_OR_RETURN(auto system, system_bucket.List(">"));
  constexpr std::string_view kNoncePrefix = "nonces.";
  for (const auto& e : system) {
    if (e.key.compare(0, kNoncePrefix.size(), kNoncePrefix) == 0) {
      out.key_ids.insert(e.key.substr(kNoncePrefix.size()));
    } else if (e.key != kKeyCheckKey) {
      AddRecord(e, &out);  // the signing key is a sealed record too
    }
  }
  return out;
}

std::string Join(const std::set<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
  return out;
}

// OK when `key` opens the sample sealed under its key id.
bool Proves(const SealedEvidence& evidence, const MasterKey* key) {
  if (key == nullptr) return false;
  auto it = evidence.sample_by_key_id.find(key->key_id());
  if (it == evidence.sample_by_key_id.end()) return false;
  const SecretRecord& r = it->second;
  auto opened = key->Open(SealedBox{r.value.nonce, r.value.ciphertext}, AsBytes(SecretAad(r.environment, r.name)));
  return opened.ok();
}

// The key-check record is missing: decide whether writing a new one is safe.
Status CheckMissingRecord(KvBucket& system_bucket, KvBucket& secrets_bucket, const KeyCheckOptions& o) {
  IF_ASSIGN_OR_RETURN(auto evidence, FindSealedEvidence(system_bucket, secrets_bucket));
  if (evidence.key_ids.empty()) return Status::Ok();  // a store that never held sealed data
  const std::string found = std::to_string(evidence.sealed_records) +
                            " sealed record(s) and nonce counters under key id(s) " + Join(evidence.key_ids);
  if (o.key == nullptr) {
    return Status::PreconditionFailed(
        "the key-check record (ironflow-system/keycheck) is missing and the store holds " + found +
        "; dev mode cannot read encrypted data: set IRONFLOW_MASTER_KEY");
  }
  if (!o.recreate_if_missing) {
    return Status::PreconditionFailed(
        "the key-check record (ironflow-system/keycheck) is missing, but the store holds " + found +
        "; refusing to start (nothing was changed). If IRONFLOW_MASTER_KEY (key id " + o.key->key_id() +
        ") is the key they were sealed with, start once with --recreate-key-check: the key is proven by opening "
        "one of them before a new key check is written");
  }
  if (Proves(evidence, o.key) || Proves(evidence, o.previous)) {
    std::set<std::string> others = evidence.key_ids;
    others.erase(o.key->key_id());
    if (o.previous) others.erase(o.previous->key_id());
    if (!others.empty()) {
      spdlog::warn(
          "key check: records sealed under other key id(s) {} stay unreadable with this key; set "
          "IRONFLOW_MASTER_KEY_PREVIOUS to the key that wrote them, then rekey",
          Join(others));
    }
    return Status::Ok();
  }
  if (evidence.sample_by_key_id.empty()) return Status::Ok();  // only nonce counters: nothing to open or to mix with
  return Status::PreconditionFailed("--recreate-key-check: IRONFLOW_MASTER_KEY (key id " + o.key->key_id() +
                                    ") opens none of the sealed records (key ids " + Join(evidence.key_ids) +
                                    "); refusing to start (nothing was changed)");
}

}  // namespace

Status VerifyOrRecordMasterKey(KvBucket& system_bucket, KvBucket& secrets_bucket, const KeyCheckOptions& options) {
  const MasterKey* key = options.key;
  const MasterKey* previous = options.previous;
  for (int attempt = 0; attempt < 3; ++attempt) {  // racing servers settle in one or two rounds
    IF_ASSIGN_OR_RETURN(auto existing, system_bucket.Get(kKeyCheckKey));
    if (existing.has_value()) {
      const KvEntry& entry = *existing;
      if (key != nullptr && previous != nullptr && StoredKeyId(entry) == previous->key_id() &&
          previous->key_id() != key->key_id()) {
        // Rotation: prove the previous key is the one the data was written with, then move the record.
        IF_RETURN_IF_ERROR(CheckAgainstRecord(entry, previous));
        IF_ASSIGN_OR_RETURN(auto doc, NewRecord(*key));
        auto rev = system_bucket.Update(kKeyCheckKey, doc, entry.revision);
        if (rev.ok()) return Status::Ok();
        if (!rev.status().is(Code::kConflict)) return rev.status();
        continue;  // another server moved it first: verify against what it wrote
      }
      return CheckAgainstRecord(entry, key);
    }
    if (Status missing = CheckMissingRecord(system_bucket, secrets_bucket, options); !missing.ok()) {
      // A server starting next to us may have written the key check (and then sealed its signing key) after our
      // read: if the record is there now, verify against it instead of refusing.
      auto again = system_bucket.Get(kKeyCheckKey);
      if (again.ok() && again->has_value()) continue;
      return missing;
    }
    if (key == nullptr) return Status::Ok();  // dev mode on a store that has never held encrypted data
    if (options.recreate_if_missing)
      spdlog::warn("key check: writing a new key-check record for key id {}", key->key_id());

    IF_ASSIGN_OR_RETURN(auto doc, NewRecord(*key));
    auto rev = system_bucket.Create(kKeyCheckKey, doc);
    if (rev.ok()) return Status::Ok();
    if (!rev.status().is(Code::kConflict)) return rev.status();
    // Another server recorded its key first: loop and verify against it.
  }
  return Status::Unavailable("could not read or write the key-check record");
}

Status ProveMasterKey(NatsConnection& nc, const MasterKey& key) {
  auto system = KvBucket::Open(nc, kSystemBucket);
  if (system.status().is(Code::kNotFound)) {
    return Status::NotFound(std::string("no Ironflow store in this NATS (bucket ") + kSystemBucket + " is missing)");
  }
  if (!system.ok()) return system.status();
  IF_ASSIGN_OR_RETURN(auto secrets, KvBucket::Open(nc, kSecretsBucket));
  IF_ASSIGN_OR_RETURN(auto check, (*system)->Get(kKeyCheckKey));
  if (!check.has_value()) {
    return Status::PreconditionFailed(
        "this store has no key-check record (dev mode, or never started with a "
        "master key): there is no master key to prove");
  }
  // The record exists, so this only verifies (it writes nothing with a single key and no rotation).
  return VerifyOrRecordMasterKey(**system, *secrets, KeyCheckOptions{&key, nullptr, false});
}

}  // namespace ironflow::server
