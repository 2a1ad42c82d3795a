// The config store and the KV store, from an app or from inside a function.
//
//   Inside a function:  nlohmann::json flags = ctx.config.get("flags");
//                       std::int64_t n = ctx.kv("counters").incr("payouts");
//   From an app:        ironflow::Client client({...});
//                       client.config().set("flags", {{"checkout_v2", true}});
//                       client.kv("sessions").put("user.42", token);
//
// Every call goes through the Ironflow server's HTTP API, in the environment the handle was made for (inside a
// function: the run's environment). Failures throw ironflow::ApiError (http_status 404 for an absent bucket,
// 412 for a failed compare-and-set, ...). Handles are cheap to copy and thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ironflow {

namespace detail {
class StoreAccess;
}

struct ConfigDocument {
  std::string name;
  nlohmann::json data;  // a JSON object
  std::uint64_t revision = 0;
  std::string updated_at;  // RFC 3339
};

// One frame of a config watch: type "config_update" (data set) or "config_delete".
struct ConfigChange {
  std::string type;
  std::string name;
  nlohmann::json data;
  std::uint64_t revision = 0;
};

class ConfigClient {
 public:
  ConfigClient() = default;  // not connected: every call throws ironflow::Error
  ConfigClient(std::shared_ptr<detail::StoreAccess> access, std::string environment);

  // The document's data. Throws ApiError with http_status 404 when absent.
  nlohmann::json get(std::string_view name) const;
  // The document with its revision, or nullopt when absent.
  std::optional<ConfigDocument> find(std::string_view name) const;
  // Replaces the document; returns its new revision. With if_revision, 412 (ApiError) when it moved on.
  std::uint64_t set(std::string_view name, const nlohmann::json& data,
                    std::optional<std::uint64_t> if_revision = std::nullopt) const;
  // Shallow merge (null removes a field); concurrent patches of different fields all survive.
  ConfigDocument patch(std::string_view name, const nlohmann::json& fields) const;
  // Idempotent.
  void remove(std::string_view name) const;
  // Names of the environment's documents.
  std::vector<std::string> list() const;
  // Calls on_change with the current document (if any), then with every change in order, until on_change
  // returns false (checked as each change arrives). Blocks the calling thread.
  void watch(std::string_view name, const std::function<bool(const ConfigChange&)>& on_change) const;

 private:
  std::shared_ptr<detail::StoreAccess> access_;
  std::string environment_;
};

// One frame of a KV watch.
struct KvChange {
  std::string key;
  std::string value;  // decoded bytes; empty for a delete
  std::uint64_t revision = 0;
  std::string operation;  // "put" or "delete"
};

class KvClient {
 public:
  KvClient() = default;  // not connected: every call throws ironflow::Error
  KvClient(std::shared_ptr<detail::StoreAccess> access, std::string environment, std::string bucket);

  // The value (exact bytes), or nullopt when the key is absent.
  std::optional<std::string> get(std::string_view key) const;
  // Writes the value; returns the new revision. With if_revision, 412 (ApiError) when the key moved on.
  std::uint64_t put(std::string_view key, std::string_view value,
                    std::optional<std::uint64_t> if_revision = std::nullopt) const;
  // Writes only if the key does not exist; false when it does.
  bool create(std::string_view key, std::string_view value) const;
  // Idempotent.
  void del(std::string_view key) const;
  // Atomically adds `by` (a missing key counts from 0) and returns the new value. ApiError 409 when the value is
  // not an integer or would overflow.
  std::int64_t incr(std::string_view key, std::int64_t by = 1) const;
  // Keys matching `filter` (NATS wildcards: "user.*", "user.>"), sorted.
  std::vector<std::string> keys(std::string_view filter = ">") const;
  // Current values, then every change, until on_change returns false. Blocks the calling thread.
  void watch(std::string_view key_pattern, const std::function<bool(const KvChange&)>& on_change) const;

 private:
  std::string keyPath(std::string_view key) const;
  std::shared_ptr<detail::StoreAccess> access_;
  std::string environment_;
  std::string bucket_;
};

}  // namespace ironflow
