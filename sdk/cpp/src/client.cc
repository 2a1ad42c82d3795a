#include "ironflow/client.h"

#include <mutex>
#include <stdexcept>

#include "api_connection.h"
#include "common/bounded_json.h"
#include "store_access.h"

namespace ironflow {

using nlohmann::json;

struct Client::Impl {
  ClientOptions options;
  std::mutex mu;
  detail::ApiConnection api;
  std::shared_ptr<detail::StoreAccess> stores;

  explicit Impl(ClientOptions o)
      : options(std::move(o)),
        api(options.server_url, options.api_key, options.environment, options.ca_file),
        stores(std::make_shared<detail::StoreAccess>(options.server_url, options.api_key, options.timeout_ms,
                                                     options.ca_file)) {}

  json Call(std::string_view method, std::string_view target, const std::string& body, const std::string& what) {
    detail::ApiOutcome out;
    {
      std::lock_guard<std::mutex> lock(mu);
      out = api.call(method, target, body, options.timeout_ms);
    }
    if (!out.ok()) detail::ThrowApiError(out, what);
    json doc = ParseBoundedJson(out.body);
    return doc.is_discarded() ? json::object() : doc;
  }
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::~Client() = default;

json Client::registerFunction(const Function& function, std::string mode, std::string url) {
  if (mode != "pull" && mode != "push") throw std::invalid_argument("mode must be \"pull\" or \"push\"");
  if (mode == "push" && url.empty()) {
    throw std::invalid_argument("a push-mode function needs the URL the engine will POST jobs to");
  }
  return impl_->Call("POST", "/api/v1/functions", detail::FunctionRegistrationBody(function, mode, url),
                     "registering function \"" + function.config.id + "\"");
}

json Client::emit(std::string_view name, const json& data) {
  json body = {{"name", std::string(name)}, {"data", data}};
  return impl_->Call("POST", "/api/v1/events", body.dump(), "emitting event \"" + std::string(name) + "\"");
}

ConfigClient Client::config() const { return ConfigClient(impl_->stores, impl_->options.environment); }

KvClient Client::kv(std::string_view bucket) const {
  return KvClient(impl_->stores, impl_->options.environment, std::string(bucket));
}

json Client::createBucket(std::string_view name, std::int64_t ttl_seconds, int history, std::string_view description) {
  json body = {{"name", std::string(name)},
               {"ttl_seconds", ttl_seconds},
               {"history", history},
               {"description", std::string(description)}};
  return impl_->Call("POST", "/api/v1/kv/buckets", body.dump(), "creating bucket \"" + std::string(name) + "\"");
}

}  // namespace ironflow
