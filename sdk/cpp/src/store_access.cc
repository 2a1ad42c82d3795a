#include "store_access.h"

#include "common/bounded_json.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

namespace ironflow::detail {

namespace {
constexpr size_t kMaxIdle = 8;
}

StoreAccess::StoreAccess(std::string server_url, std::string api_key, int timeout_ms, std::string ca_file)
    : server_url_(std::move(server_url)),
      api_key_(std::move(api_key)),
      timeout_ms_(timeout_ms),
      ca_file_(std::move(ca_file)) {
  CheckServerUrl(server_url_, ca_file_);
}

StoreAccess::~StoreAccess() {
  if (!api_key_.empty()) OPENSSL_cleanse(api_key_.data(), api_key_.size());
}

std::unique_ptr<ApiConnection> StoreAccess::acquire(const std::string& environment) {
  std::unique_ptr<ApiConnection> c;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      c = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!c) c = std::make_unique<ApiConnection>(server_url_, api_key_, environment, ca_file_);
  c->set_environment(environment);
  return c;
}

void StoreAccess::release(std::unique_ptr<ApiConnection> c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(c));
}

ApiOutcome StoreAccess::callRaw(const std::string& environment, std::string_view method, std::string_view target,
                                std::string_view body, const HeaderList& extra) {
  auto c = acquire(environment);
  ApiOutcome out = c->call(method, target, body, timeout_ms_, extra);
  if (out.status != 0) release(std::move(c));  // a connection that failed at the transport level is dropped
  return out;
}

nlohmann::json StoreAccess::call(const std::string& environment, std::string_view method, std::string_view target,
                                 std::string_view body, const std::string& what, const HeaderList& extra) {
  ApiOutcome out = callRaw(environment, method, target, body, extra);
  if (!out.ok()) ThrowApiError(out, what);
  if (out.body.empty()) return nlohmann::json();
  nlohmann::json doc = ParseBoundedJson(out.body);
  return doc.is_discarded() ? nlohmann::json() : doc;
}

void StoreAccess::stream(const std::string& environment, std::string_view target,
                         const std::function<bool(const std::string&)>& on_frame, const std::string& what) {
  ApiConnection c(server_url_, api_key_, environment, ca_file_);
  ApiOutcome out = c.stream(target, on_frame);
  if (!out.ok()) ThrowApiError(out, what);
}

}  // namespace ironflow::detail
