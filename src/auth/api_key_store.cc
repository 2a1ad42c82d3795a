#include "auth/api_key_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/hex.h"
#include "common/time_util.h"
#include "crypto/digest.h"
#include "crypto/secure_bytes.h"

namespace ironflow {
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

}  // namespace

Result<bool> ApiKeyStore::EnsureBootstrapKey(const std::string& key_file) {
  auto marker = bucket_.Get(kBootstrapMarker);
  if (!marker.ok()) return marker.status();
  if (marker->has_value()) return false;

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
  if (auto cached = cache_.Get(hash)) return *cached;
  auto got = bucket_.Get("apikeys." + hash);
  if (!got.ok()) return got.status();
  if (!got->has_value()) return denied();
  json doc = json::parse((*got)->value, nullptr, false);
  if (!doc.is_object() || !doc.contains("hash") || !doc["hash"].is_string()) return denied();
  if (!ConstantTimeEquals(doc["hash"].get<std::string>(), hash)) return denied();
  Principal p{doc.value("id", hash.substr(0, 8)), doc.value("name", std::string("api key"))};
  cache_.Put(hash, p);
  return p;
}

}  // namespace ironflow
