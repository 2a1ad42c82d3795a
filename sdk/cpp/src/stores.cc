#include "ironflow/stores.h"

#include "common/bounded_json.h"
#include "common/hex.h"
#include "ironflow/errors.h"
#include "store_access.h"

namespace ironflow {

using nlohmann::json;

namespace {

detail::StoreAccess& Access(const std::shared_ptr<detail::StoreAccess>& a) {
  if (!a) {
    throw Error(
        "config and KV access is not configured: a push-mode app needs PushServerOptions.server_url and "
        "api_key");
  }
  return *a;
}

ConfigDocument DocumentFrom(const json& j) {
  ConfigDocument d;
  d.name = j.value("name", "");
  d.data = j.contains("data") ? j["data"] : json::object();
  d.revision = j.value("revision", std::uint64_t{0});
  d.updated_at = j.value("updated_at", "");
  return d;
}

// Parses an SSE `data:` frame; nullopt for comments (": subscribed", heartbeats) and malformed frames.
std::optional<json> FrameJson(const std::string& frame) {
  if (frame.rfind("data: ", 0) != 0) return std::nullopt;
  json j = ParseBoundedJson(frame.substr(6));
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

HeaderList IfMatch(std::optional<std::uint64_t> rev) {
  HeaderList h;
  if (rev) h.emplace_back("If-Match", std::to_string(*rev));
  return h;
}

}  // namespace

ConfigClient::ConfigClient(std::shared_ptr<detail::StoreAccess> access, std::string environment)
    : access_(std::move(access)), environment_(std::move(environment)) {}

json ConfigClient::get(std::string_view name) const {
  json j = Access(access_).call(environment_, "GET", "/api/v1/config/" + detail::EncodePathSegment(name), "",
                                "reading config " + Quoted(name));
  return j.contains("data") ? j["data"] : json::object();
}

std::optional<ConfigDocument> ConfigClient::find(std::string_view name) const {
  auto out = Access(access_).callRaw(environment_, "GET", "/api/v1/config/" + detail::EncodePathSegment(name), "");
  if (out.status == 404 && out.code == "not_found") return std::nullopt;
  if (!out.ok()) detail::ThrowApiError(out, "reading config " + Quoted(name));
  return DocumentFrom(ParseBoundedJson(out.body));
}

std::uint64_t ConfigClient::set(std::string_view name, const json& data,
                                std::optional<std::uint64_t> if_revision) const {
  json j = Access(access_).call(environment_, "PUT", "/api/v1/config/" + detail::EncodePathSegment(name),
                                json{{"data", data}}.dump(), "writing config " + Quoted(name), IfMatch(if_revision));
  return j.value("revision", std::uint64_t{0});
}

ConfigDocument ConfigClient::patch(std::string_view name, const json& fields) const {
  return DocumentFrom(Access(access_).call(environment_, "PATCH", "/api/v1/config/" + detail::EncodePathSegment(name),
                                           json{{"data", fields}}.dump(), "patching config " + Quoted(name)));
}

void ConfigClient::remove(std::string_view name) const {
  Access(access_).call(environment_, "DELETE", "/api/v1/config/" + detail::EncodePathSegment(name), "",
                       "deleting config " + Quoted(name));
}

std::vector<std::string> ConfigClient::list() const {
  json j = Access(access_).call(environment_, "GET", "/api/v1/config", "", "listing config");
  std::vector<std::string> out;
  for (const auto& c : j.value("configs", json::array())) out.push_back(c.value("name", ""));
  return out;
}

void ConfigClient::watch(std::string_view name, const std::function<bool(const ConfigChange&)>& on_change) const {
  Access(access_).stream(
      environment_, "/api/v1/config/" + detail::EncodePathSegment(name) + "/watch",
      [&](const std::string& frame) {
        auto j = FrameJson(frame);
        if (!j) return true;
        ConfigChange c;
        c.type = j->value("type", "");
        c.name = j->value("name", "");
        if (j->contains("data")) c.data = (*j)["data"];
        c.revision = j->value("revision", std::uint64_t{0});
        return on_change(c);
      },
      "watching config " + Quoted(name));
}

KvClient::KvClient(std::shared_ptr<detail::StoreAccess> access, std::string environment, std::string bucket)
    : access_(std::move(access)), environment_(std::move(environment)), bucket_(std::move(bucket)) {}

std::string KvClient::keyPath(std::string_view key) const {
  return "/api/v1/kv/buckets/" + detail::EncodePathSegment(bucket_) + "/keys/" + detail::EncodePathSegment(key);
}

std::optional<std::string> KvClient::get(std::string_view key) const {
  auto out = Access(access_).callRaw(environment_, "GET", keyPath(key), "");
  // 404 means "no such key" only when the bucket exists; an absent bucket is an error worth raising.
  if (out.status == 404 && out.message.rfind("key ", 0) == 0) return std::nullopt;
  if (!out.ok()) detail::ThrowApiError(out, "reading key " + Quoted(key) + " of bucket " + Quoted(bucket_));
  json j = ParseBoundedJson(out.body);
  auto bytes = Base64Decode(j.is_object() ? j.value("value", "") : "");
  if (!bytes) throw Error("the server sent a value that is not base64");
  return std::string(bytes->begin(), bytes->end());
}

std::uint64_t KvClient::put(std::string_view key, std::string_view value,
                            std::optional<std::uint64_t> if_revision) const {
  json j = Access(access_).call(environment_, "PUT", keyPath(key), value,
                                "writing key " + Quoted(key) + " of bucket " + Quoted(bucket_), IfMatch(if_revision));
  return j.value("revision", std::uint64_t{0});
}

bool KvClient::create(std::string_view key, std::string_view value) const {
  auto out = Access(access_).callRaw(environment_, "PUT", keyPath(key), value, {{"If-None-Match", "*"}});
  if (out.status == 412) return false;
  if (!out.ok()) detail::ThrowApiError(out, "creating key " + Quoted(key) + " of bucket " + Quoted(bucket_));
  return true;
}

void KvClient::del(std::string_view key) const {
  Access(access_).call(environment_, "DELETE", keyPath(key), "",
                       "deleting key " + Quoted(key) + " of bucket " + Quoted(bucket_));
}

std::int64_t KvClient::incr(std::string_view key, std::int64_t by) const {
  json j = Access(access_).call(environment_, "POST", keyPath(key) + "/increment", json{{"by", by}}.dump(),
                                "incrementing key " + Quoted(key) + " of bucket " + Quoted(bucket_));
  return j.value("value", std::int64_t{0});
}

std::vector<std::string> KvClient::keys(std::string_view filter) const {
  json j = Access(access_).call(
      environment_, "GET",
      "/api/v1/kv/buckets/" + detail::EncodePathSegment(bucket_) + "/keys?filter=" + detail::EncodePathSegment(filter),
      "", "listing keys of bucket " + Quoted(bucket_));
  std::vector<std::string> out;
  for (const auto& k : j.value("keys", json::array())) out.push_back(k.get<std::string>());
  return out;
}

void KvClient::watch(std::string_view key_pattern, const std::function<bool(const KvChange&)>& on_change) const {
  Access(access_).stream(
      environment_,
      "/api/v1/kv/buckets/" + detail::EncodePathSegment(bucket_) +
          "/watch?key=" + detail::EncodePathSegment(key_pattern),
      [&](const std::string& frame) {
        auto j = FrameJson(frame);
        if (!j) return true;
        KvChange c;
        c.key = j->value("key", "");
        c.revision = j->value("revision", std::uint64_t{0});
        c.operation = j->value("operation", "");
        if ((*j)["value"].is_string()) {
          auto bytes = Base64Decode((*j)["value"].get<std::string>());
          if (bytes) c.value.assign(bytes->begin(), bytes->end());
        }
        return on_change(c);
      },
      "watching bucket " + Quoted(bucket_));
}

}  // namespace ironflow
