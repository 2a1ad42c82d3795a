#include "auth/api_key_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "auth/allow_list.h"
#include "common/bounded_json.h"
#include "common/hex.h"
#include "common/time_util.h"
#include "crypto/digest.h"
#include "crypto/secure_bytes.h"

namespace ironflow::server {
namespace {

using nlohmann::json;
constexpr std::string_view kPrefix = "ifkey_";
constexpr const char* kBootstrapMarker = "bootstrap";

bool WellFormed(std::string_view key) {
  if (key.size() != kPrefix.size() + 32 || key.substr(0, kPrefix.size()) != kPrefix) return false;
  for (char c : key.substr(kPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status WriteKeyFile(const std::string& path, const std::string& key) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::Internal("cannot write " + path);
  fchmod(fd, 0600);
  std::string line = key + "\n";
  bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  Cleanse(line);
  ok = fsync(fd) == 0 && ok;
  close(fd);
  if (!ok) return Status::Internal("cannot write " + path);
  return Status::Ok();
}

std::string NewKey() {
  auto random = RandomBytes(16);
  std::string key = std::string(kPrefix) + HexEncode(random);
  Cleanse(random);
  return key;
}

Principal FromRecord(const json& doc, const std::string& hash) {
  Principal p;
  p.id = doc.value("id", hash.substr(0, 8));
  p.name = doc.value("name", std::string("api key"));
  // Records from before roles: the bootstrap admin key. A role this version does not know grants nothing.
  p.role = ParseRole(doc.value("role", std::string("admin"))).value_or(Role::kNone);
  p.environment = doc.value("environment", std::string());
  p.expires_at_ms = doc.value("expires_at_ms", int64_t{0});
  if (RoleCarriesAllowLists(p.role)) {
    auto list = [&](const char* field, std::vector<std::string>* out) {
      auto it = doc.find(field);
      if (it == doc.end() || !it->is_array()) return false;
      for (const auto& v : *it) {
        if (v.is_string()) out->push_back(v.get<std::string>());
      }
      return true;
    };
    const bool has_functions = list("functions", &p.functions), has_secrets = list("secrets", &p.secrets);
    if (!has_functions || !has_secrets) {  // a key from before allow-lists: everything, flagged
      p.functions = {"*"};
      p.secrets = {"*"};
      p.legacy_scope = true;
    }
  }
  return p;
}

ApiKeyInfo InfoFrom(const json& doc, const std::string& hash) {
  ApiKeyInfo info;
  info.principal = FromRecord(doc, hash);
  info.created_at = doc.value("created_at", std::string());
  if (info.principal.expires_at_ms > 0) info.expires_at = FormatRfc3339(info.principal.expires_at_ms);
  return info;
}

json RecordOf(const Principal& p, const std::string& hash, const std::string& created_at) {
  json doc{{"id", p.id},
           {"name", p.name},
           {"hash", hash},
           {"role", RoleName(p.role)},
           {"environment", p.environment},
           {"expires_at_ms", p.expires_at_ms},
           {"created_at", created_at}};
  if (RoleCarriesAllowLists(p.role) && !p.legacy_scope) {  // a legacy key stays legacy when rotated
    doc["functions"] = p.functions;
    doc["secrets"] = p.secrets;
  }
  return doc;
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ' ')) return false;
  }
  return true;
}

}  // namespace

Result<bool> ApiKeyStore::EnsureBootstrapKey(const std::string& key_file) {
  IF_ASSIGN_OR_RETURN(auto marker, bucket_.Get(kBootstrapMarker));
  if (marker.has_value()) return false;

  auto random = RandomBytes(16);
  std::string key = std::string(kPrefix) + HexEncode(random);
  Cleanse(random);
  std::string hash = Sha256Hex(key);
  std::string created_at = FormatRfc3339(NowUnixMillis());
  // The marker makes exactly one of several racing first starts the creator.
  auto won = bucket_.Create(kBootstrapMarker, json{{"created_at", created_at}, {"key_id", hash.substr(0, 8)}}.dump());
  if (!won.ok()) {
    Cleanse(key);
    if (won.status().is(Code::kConflict)) return false;
    return won.status();
  }
  json record = {{"id", hash.substr(0, 8)}, {"name", "bootstrap-admin"}, {"hash", hash}, {"created_at", created_at}};
  auto rev = bucket_.Create("apikeys." + hash, record.dump());
  if (!rev.ok()) {
    Cleanse(key);
    return rev.status();
  }
  Status written = WriteKeyFile(key_file, key);
  Cleanse(key);
  if (!written.ok()) return written;
  return true;
}

Result<Principal> ApiKeyStore::Authenticate(std::string_view presented_key) {
  auto denied = [] { return Status::Unauthenticated("invalid API key"); };
  if (!WellFormed(presented_key)) return denied();
  std::string hash = Sha256Hex(presented_key);
  if (auto cached = cache_.Get(hash)) {
    if (cached->expires_at_ms > 0 && NowUnixMillis() >= cached->expires_at_ms) {
      return Status::Unauthenticated("API key expired");
    }
    return *cached;
  }
  IF_ASSIGN_OR_RETURN(auto got, bucket_.Get("apikeys." + hash));
  if (!got.has_value()) return denied();
  json doc = ParseBoundedJson((got)->value);
  if (!doc.is_object() || !doc.contains("hash") || !doc["hash"].is_string()) return denied();
  if (!ConstantTimeEquals(doc["hash"].get<std::string>(), hash)) return denied();
  Principal p = FromRecord(doc, hash);
  if (p.expires_at_ms > 0 && NowUnixMillis() >= p.expires_at_ms) return Status::Unauthenticated("API key expired");
  cache_.Put(hash, p);
  return p;
}

Result<NewApiKey> ApiKeyStore::Insert(const ApiKeySpec& spec) {
  const std::string& name = spec.name;
  const Role role = spec.role;
  const std::string& environment = spec.environment;
  const int64_t expires_in_seconds = spec.expires_in_seconds;
  if (!ValidName(name)) {
    return Status::InvalidArgument("name must be 1-64 characters of letters, digits, space, '-', '_' and '.'");
  }
  if (role == Role::kNone) {
    return Status::InvalidArgument("role must be admin, manager, reader or worker");
  }
  if (role == Role::kAdmin && !environment.empty()) {
    return Status::InvalidArgument("an admin key covers every environment; omit \"environment\"");
  }
  if (role != Role::kAdmin && environment.empty()) {
    return Status::InvalidArgument("a " + std::string(RoleName(role)) +
                                   " key is bound to one environment; give \"environment\"");
  }
  if (expires_in_seconds < 0 || expires_in_seconds > int64_t{10} * 366 * 86400) {
    return Status::InvalidArgument("expires_in must be between 1 second and 10 years (0 or absent: never)");
  }
  const bool scoped = RoleCarriesAllowLists(role);
  if (!scoped && (spec.functions || spec.secrets)) {
    return Status::InvalidArgument("only worker and manager keys carry \"functions\" and \"secrets\" allow-lists");
  }
  if (role == Role::kWorker && (!spec.functions || !spec.secrets)) {
    return Status::InvalidArgument(
        "a worker key needs its allow-lists: give \"functions\" and \"secrets\" (patterns "
        "like payout or STRIPE_*; [\"*\"] allows every name, explicitly)");
  }
  if (spec.functions) IF_RETURN_IF_ERROR(AllowList::Validate(*spec.functions, "functions"));
  if (spec.secrets) IF_RETURN_IF_ERROR(AllowList::Validate(*spec.secrets, "secrets"));
  NewApiKey out;
  out.key = NewKey();
  const std::string hash = Sha256Hex(out.key);
  Principal& p = out.info.principal;
  if (scoped) {
    p.functions = spec.functions.value_or(std::vector<std::string>{"*"});
    p.secrets = spec.secrets.value_or(std::vector<std::string>{"*"});
  }
  p.id = "ak_" + HexEncode(RandomBytes(6));
  p.name = name;
  p.role = role;
  p.environment = environment;
  p.expires_at_ms = expires_in_seconds > 0 ? NowUnixMillis() + expires_in_seconds * 1000 : 0;
  out.info.created_at = FormatRfc3339(NowUnixMillis());
  if (p.expires_at_ms > 0) out.info.expires_at = FormatRfc3339(p.expires_at_ms);
  IF_RETURN_IF_ERROR(bucket_.Create("apikeys." + hash, RecordOf(p, hash, out.info.created_at).dump()).status());
  auto idx = bucket_.Create("ids." + p.id, json{{"hash", hash}}.dump());
  if (!idx.ok()) {
    (void)bucket_.Purge("apikeys." + hash);
    return idx.status();
  }
  return out;
}

Result<std::vector<ApiKeyInfo>> ApiKeyStore::List() {
  IF_ASSIGN_OR_RETURN(auto entries, bucket_.List("apikeys.*"));
  std::vector<ApiKeyInfo> out;
  for (const auto& e : entries) {
    json doc = ParseBoundedJson(e.value);
    if (!doc.is_object()) continue;
    out.push_back(InfoFrom(doc, e.key.substr(8)));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created_at < b.created_at; });
  return out;
}

Result<std::pair<std::string, uint64_t>> ApiKeyStore::HashOf(const std::string& id) {
  IF_ASSIGN_OR_RETURN(auto idx, bucket_.Get("ids." + id));
  if (idx.has_value()) {
    json doc = ParseBoundedJson((idx)->value);
    if (doc.is_object() && doc.contains("hash")) return std::make_pair(doc["hash"].get<std::string>(), (idx)->revision);
  }
  // Keys from before the index (the bootstrap key): find the record by its id field.
  IF_ASSIGN_OR_RETURN(auto entries, bucket_.List("apikeys.*"));
  for (const auto& e : entries) {
    json doc = ParseBoundedJson(e.value);
    if (doc.is_object() && doc.value("id", std::string()) == id) return std::make_pair(e.key.substr(8), uint64_t{0});
  }
  return Status::NotFound("no API key with id " + id);
}

Result<NewApiKey> ApiKeyStore::Reissue(const std::string& id) {
  IF_ASSIGN_OR_RETURN(auto found, HashOf(id));
  const auto& [old_hash, index_rev] = found;
  IF_ASSIGN_OR_RETURN(auto old, bucket_.Get("apikeys." + old_hash));
  if (!old.has_value()) return Status::NotFound("no API key with id " + id);
  json doc = ParseBoundedJson((old)->value);
  if (!doc.is_object()) return Status::Internal("stored API key record is malformed");
  NewApiKey out;
  out.key = NewKey();
  const std::string hash = Sha256Hex(out.key);
  out.info = InfoFrom(doc, old_hash);
  IF_RETURN_IF_ERROR(
      (bucket_.Create("apikeys." + hash, RecordOf(out.info.principal, hash, out.info.created_at).dump())).status());
  // Point the id at the new hash (compare-and-set: two concurrent rotations cannot both win).
  Result<uint64_t> moved = index_rev == 0 ? bucket_.Put("ids." + id, json{{"hash", hash}}.dump())
                                          : bucket_.Update("ids." + id, json{{"hash", hash}}.dump(), index_rev);
  if (!moved.ok()) {
    (void)bucket_.Purge("apikeys." + hash);
    return moved.status().is(Code::kConflict) ? Status::Conflict("the key was rotated concurrently; try again")
                                              : moved.status();
  }
  (void)bucket_.Purge("apikeys." + old_hash);
  cache_.Erase(old_hash);
  return out;
}

Status ApiKeyStore::Remove(const std::string& id) {
  IF_ASSIGN_OR_RETURN(auto found, HashOf(id));
  IF_RETURN_IF_ERROR(bucket_.Purge("apikeys." + found.first));
  (void)bucket_.Purge("ids." + id);
  cache_.Erase(found.first);
  return Status::Ok();
}

Result<NewApiKey> ApiKeyStore::Create(const ApiKeySpec& spec, const Actor& actor) {
  auto created = Insert(spec);
  if (!created.ok()) return created;
  const Principal& p = created->info.principal;
  if (Status audited = events_.ApiKeyChanged("created", p.id, p.environment, actor); !audited.ok()) {
    (void)Remove(p.id);  // an unaudited key must not exist
    Cleanse(created->key);
    return audited;
  }
  return created;
}

Result<NewApiKey> ApiKeyStore::Rotate(const std::string& id, const Actor& actor) {
  auto rotated = Reissue(id);
  if (!rotated.ok()) return rotated;
  // The old key is gone already: the new one is answered even if the event could not be stored (withholding it
  // would lock the key's owner out). The failure is logged and counted like every lost event.
  (void)events_.ApiKeyChanged("rotated", rotated->info.principal.id, rotated->info.principal.environment, actor);
  return rotated;
}

Status ApiKeyStore::Delete(const std::string& id, const Actor& actor) {
  IF_RETURN_IF_ERROR(Remove(id));
  return events_.ApiKeyChanged("deleted", id, "", actor);
}

}  // namespace ironflow::server
