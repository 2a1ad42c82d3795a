// Client: direct calls to the Ironflow server's API for what an app does outside of running jobs: registering
// its functions (push mode needs this; a Worker registers its own), emitting events, and the config and KV stores.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ironflow/function.h"
#include "ironflow/stores.h"

namespace ironflow {

struct ClientOptions {
  std::string server_url = "http://localhost:9123";  // http:// or https://
  std::string api_key;
  std::string environment = "default";
  int timeout_ms = 30000;
  std::string ca_file;  // PEM CA trusted for an https:// server_url (empty: the system trust store)
};

class Client {
 public:
  // Throws std::invalid_argument for a malformed server URL.
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // POST /api/v1/functions {id, name?, triggers, secrets, retry, timeout_ms, mode, url?}. `mode` is "pull" or
  // "push"; push needs the URL the engine will POST jobs to (e.g. "http://10.0.0.5:8080/api/ironflow").
  // Returns the server's function document ({..., secrets:[{name, set}]}). Throws ironflow::ApiError.
  nlohmann::json registerFunction(const Function& function, std::string mode = "pull", std::string url = "");

  // POST /api/v1/events {name, data} -> {event_id, run_ids}. Throws ironflow::ApiError.
  nlohmann::json emit(std::string_view name, const nlohmann::json& data = nlohmann::json::object());

  // The config store and a KV bucket of this client's environment (see ironflow/stores.h).
  ConfigClient config() const;
  KvClient kv(std::string_view bucket) const;
  // POST /api/v1/kv/buckets: creates a bucket (ttl_seconds 0 = keys never expire) and returns its info.
  nlohmann::json createBucket(std::string_view name, std::int64_t ttl_seconds = 0, int history = 1,
                              std::string_view description = "");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ironflow
