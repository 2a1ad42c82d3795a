#include "runtime/signing_keyring.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/bounded_json.h"
#include "common/hex.h"
#include "common/time_util.h"
#include "crypto/digest.h"
#include "runtime/signing.h"
#include "secrets/secret_record.h"

namespace ironflow::server {
namespace {

constexpr const char* kKey = "signingkey";
constexpr const char* kEnv = "_system";
constexpr const char* kName = "SIGNING_KEY";
constexpr int64_t kRefreshMs = 1000;

Result<SecureBytes> FromHex(std::string_view hex, const char* what) {
  auto bytes = hex.size() == 64 ? HexDecode(hex) : std::nullopt;
  if (!bytes) return Status::InvalidArgument(std::string(what) + " must be exactly 64 hex characters");
  SecureBytes out{ByteView(*bytes)};
  Cleanse(*bytes);
  return out;
}

void AppendHex(std::string& out, const SecureBytes& b) {
  std::string h = HexEncode(b.data(), b.size());
  out += h;
  Cleanse(h);
}

// The sealed plaintext. Reserved up front so that no reallocation leaves a copy of a key behind.
std::string Serialize(const SigningKeyring::Keys& k) {
  std::string out;
  out.reserve(256);
  out += R"({"current":")";
  AppendHex(out, k.current);
  out += '"';
  if (!k.previous.empty()) {
    out += R"(,"previous":")";
    AppendHex(out, k.previous);
    out += R"(","previous_until":)" + std::to_string(k.previous_until_ms);
  }
  out += '}';
  return out;
}

Result<std::shared_ptr<SigningKeyring::Keys>> Parse(std::string_view text) {
  auto keys = std::make_shared<SigningKeyring::Keys>();
  if (text.size() == 64) {  // the first format: the current key alone
    auto current = FromHex(text, "the stored signing key");
    if (!current.ok()) return current.status();
    keys->current = std::move(current).value();
    return keys;
  }
  nlohmann::json doc = ParseBoundedJson(text);
  Status status = Status::Ok();
  if (!doc.is_object() || !doc.contains("current") || !doc["current"].is_string()) {
    status = Status::Internal("the stored signing key record is malformed");
  } else {
    auto current = FromHex(doc["current"].get_ref<const std::string&>(), "the stored signing key");
    if (current.ok())
      keys->current = std::move(current).value();
    else
      status = current.status();
    if (status.ok() && doc.contains("previous") && doc["previous"].is_string()) {
      auto previous = FromHex(doc["previous"].get_ref<const std::string&>(), "the stored previous signing key");
      if (previous.ok())
        keys->previous = std::move(previous).value();
      else
        status = previous.status();
      keys->previous_until_ms = doc.value("previous_until", int64_t{0});
    }
  }
  if (doc.is_object()) {
    for (auto& item : doc.items()) {
      if (item.value().is_string()) Cleanse(item.value().get_ref<std::string&>());
    }
  }
  if (!status.ok()) return status;
  return keys;
}

// The stored record, its revision and the keys it holds (revision 0 and no keys when there is none yet).
struct Stored {
  SecretRecord record;
  uint64_t revision = 0;
  std::shared_ptr<SigningKeyring::Keys> keys;
};

Result<std::unique_ptr<Stored>> ReadStored(KvBucket& bucket, const ValueSealer& sealer) {
  auto out = std::make_unique<Stored>();
  IF_ASSIGN_OR_RETURN(auto e, bucket.Get(kKey));
  if (!e.has_value()) return out;
  auto rec = DecodeSecretRecord((e)->value);
  if (!rec.ok()) return Status::Internal("the stored signing key record is malformed");
  out->record = std::move(rec).value();
  auto text = sealer.Open(kEnv, kName, out->record.value);
  if (!text.ok()) return Status::Internal("the stored signing key cannot be opened: " + text.status().message());
  auto keys = Parse(text->view());
  if (!keys.ok()) return keys.status();
  out->keys = std::move(keys).value();
  out->revision = (e)->revision;
  return out;
}

}  // namespace

Result<std::unique_ptr<SigningKeyring>> SigningKeyring::Open(KvBucket& bucket, const ValueSealer& sealer,
                                                             SystemEvents& events,
                                                             const std::optional<std::string>& configured_hex) {
  std::unique_ptr<SigningKeyring> ring(new SigningKeyring(bucket, sealer, events));
  if (configured_hex && !configured_hex->empty()) {
    IF_ASSIGN_OR_RETURN(auto key, FromHex(*configured_hex, "IRONFLOW_SIGNING_KEY"));
    auto keys = std::make_shared<Keys>();
    keys->current = std::move(key);
    ring->keys_ = std::move(keys);
    ring->fixed_ = true;
    return ring;
  }
  for (int attempt = 0; attempt < 4; ++attempt) {  // read, or create and read back: racing servers settle at once
    IF_ASSIGN_OR_RETURN(auto loaded, ring->Load());
    if (loaded.second != 0) {
      ring->keys_ = std::move(loaded.first);
      ring->loaded_at_ms_ = NowUnixMillis();
      return ring;
    }
    IF_RETURN_IF_ERROR(ring->CreateFirst());
    // Loop: read back what won (ours, or another server's).
  }
  return Status::Unavailable("could not read or create the signing key");
}

Result<std::pair<std::shared_ptr<SigningKeyring::Keys>, uint64_t>> SigningKeyring::Load() {
  IF_ASSIGN_OR_RETURN(auto stored, ReadStored(bucket_, sealer_));
  Stored& st = *stored;
  if (st.revision == 0) return std::make_pair(std::shared_ptr<Keys>(), uint64_t{0});
  if (sealer_.encrypting() && (!st.record.value.encrypted() || st.record.value.key_id != sealer_.key_id())) {
    // Written in dev mode, or under the previous master key during a rotation: seal it with the current key
    // (compare-and-set; a server that loses the race reads the winner's next time).
    std::string plain = Serialize(*st.keys);
    auto sealed = sealer_.Seal(kEnv, kName, plain);
    Cleanse(plain);
    if (sealed.ok()) {
      const bool was_plaintext = !st.record.value.encrypted();
      st.record.value = std::move(sealed).value();  // wipes the plaintext it replaces
      std::string doc = EncodeSecretRecord(st.record);
      (void)bucket_.Update(kKey, doc, st.revision);
      Cleanse(doc);
      if (was_plaintext) (void)bucket_.DropOldRevisions(kKey);
    }
  }
  return std::make_pair(st.keys, st.revision);
}

Status SigningKeyring::CreateFirst() {
  Keys keys;
  auto random = RandomBytes(32);
  keys.current = SecureBytes(ByteView(random));
  Cleanse(random);
  std::string text = Serialize(keys);
  auto sealed = sealer_.Seal(kEnv, kName, text);
  Cleanse(text);
  if (!sealed.ok()) return sealed.status();
  SecretRecord rec;
  rec.environment = kEnv;
  rec.name = kName;
  rec.description = "push-mode request signing keys";
  rec.created_at = rec.updated_at = FormatRfc3339(NowUnixMillis());
  rec.value = std::move(sealed).value();
  std::string doc = EncodeSecretRecord(rec);
  auto rev = bucket_.Create(kKey, doc);
  Cleanse(doc);
  if (!rev.ok() && !rev.status().is(Code::kConflict)) return rev.status();
  return Status::Ok();
}

std::shared_ptr<const SigningKeyring::Keys> SigningKeyring::keys() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = NowUnixMillis();
  if (!fixed_ && now - loaded_at_ms_ >= kRefreshMs) {
    auto loaded = Load();
    if (loaded.ok() && loaded->second != 0) {
      keys_ = std::move(loaded->first);
    } else if (!loaded.ok()) {
      spdlog::warn("signing keys not refreshed (using the last known ones): {}", loaded.status().message());
    }
    loaded_at_ms_ = now;
  }
  return keys_;
}

std::string SigningKeyring::Sign(int64_t unix_seconds, std::string_view body) {
  auto k = keys();
  std::vector<ByteView> in_force{k->current.view()};
  if (!k->previous.empty() && NowUnixMillis() < k->previous_until_ms) in_force.push_back(k->previous.view());
  return SignatureHeader(in_force, unix_seconds, body);
}

Result<SigningKeyring::Rotation> SigningKeyring::Rotate(int64_t grace_ms, const Actor& actor) {
  if (fixed_) {
    return Status::Conflict("the signing key is set by IRONFLOW_SIGNING_KEY on the server; change it there to rotate");
  }
  for (int attempt = 0; attempt < kCasRetryBudget; ++attempt) {
    IF_ASSIGN_OR_RETURN(auto stored, ReadStored(bucket_, sealer_));
    Stored& st = *stored;
    if (st.revision == 0) return Status::Internal("the signing key record is missing");
    SecretRecord& rec = st.record;
    const std::shared_ptr<Keys>& old = st.keys;

    auto next = std::make_shared<Keys>();
    auto random = RandomBytes(32);
    next->current = SecureBytes(ByteView(random));
    Cleanse(random);
    const int64_t now = NowUnixMillis();
    if (grace_ms > 0) {
      next->previous = std::move(old->current);
      next->previous_until_ms = now + grace_ms;
    }
    std::string plain = Serialize(*next);
    auto sealed = sealer_.Seal(kEnv, kName, plain);
    Cleanse(plain);
    if (!sealed.ok()) return sealed.status();
    rec.value = std::move(sealed).value();  // wipes a dev-mode plaintext it replaces
    rec.updated_at = FormatRfc3339(now);
    std::string doc = EncodeSecretRecord(rec);
    auto rev = bucket_.Update(kKey, doc, st.revision);
    Cleanse(doc);
    if (!rev.ok()) {
      if (rev.status().is(Code::kConflict)) continue;  // another server rotated (or re-sealed) first: build on it
      return rev.status();
    }
    // Retired keys need not stay in the bucket's history.
    (void)bucket_.DropOldRevisions(kKey);
    Rotation out;
    std::string hex = HexEncode(next->current.data(), next->current.size());
    out.current_hex = SecretString(std::move(hex));
    out.previous_until_ms = next->previous_until_ms;
    {
      std::lock_guard<std::mutex> lock(mu_);
      keys_ = std::move(next);
      loaded_at_ms_ = now;
    }
    IF_RETURN_IF_ERROR(events_.Changed("signingkey", "push", "rotated", "*", actor));
    return out;
  }
  return Status::Conflict("the signing key kept changing during the rotation; try again");
}

}  // namespace ironflow::server
