#include "api_connection.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/bounded_json.h"
#include "http/http_client.h"
#include "http/request_retry.h"

namespace ironflow::detail {

using nlohmann::json;

std::string ApiOutcome::describe() const {
  if (status == 0) return "server unreachable: " + message;
  std::string out = "HTTP " + std::to_string(status);
  if (!code.empty()) out += " " + code;
  if (!message.empty()) out += ": " + message;
  return out;
}

void CheckServerUrl(const std::string& url, const std::string& ca_file) {
  auto c = HttpClient::Create(url, ca_file);
  if (!c.ok()) throw std::invalid_argument("invalid server URL \"" + url + "\": " + c.status().message());
}

ApiConnection::ApiConnection(const std::string& server_url, const std::string& api_key, const std::string& environment,
                             const std::string& ca_file)
    : environment_(environment) {
  auto c = HttpClient::Create(server_url, ca_file);
  if (!c.ok()) throw std::invalid_argument("invalid server URL \"" + server_url + "\": " + c.status().message());
  client_ = std::move(c).value();
  if (!api_key.empty()) authorization_ = "Bearer " + api_key;
}

ApiConnection::~ApiConnection() {
  if (!authorization_.empty()) OPENSSL_cleanse(authorization_.data(), authorization_.size());
}

ApiOutcome ApiConnection::call(std::string_view method, std::string_view target, std::string_view body, int timeout_ms,
                               const HeaderList& extra) {
  HeaderList headers = {
      {"Content-Type", "application/json"}, {"Accept", "application/json"}, {"X-Ironflow-Environment", environment_}};
  if (!authorization_.empty()) headers.emplace_back("Authorization", authorization_);
  for (const auto& h : extra) headers.push_back(h);
  // Writes the server can replay (config and KV writes, counters, events) carry an Idempotency-Key and are sent
  // again after a 503/429 or no answer; the worker protocol's calls keep their own retry loops.
  RetryPolicy policy;
  policy.retry_reads = false;
  auto res = SendWithRetries(*client_, method, target, headers, body, timeout_ms, policy);
  for (auto& [name, value] : headers) {
    if (name == "Authorization") OPENSSL_cleanse(value.data(), value.size());
  }
  ApiOutcome out;
  if (!res.ok()) {
    out.code = "unavailable";
    out.message = res.status().message();
    return out;
  }
  out.status = res->status;
  out.body = std::move(res->body);
  if (!out.ok()) {
    json doc = ParseBoundedJson(out.body);
    if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
      const json& e = doc["error"];
      if (e.contains("code") && e["code"].is_string()) out.code = e["code"];
      if (e.contains("message") && e["message"].is_string()) out.message = e["message"];
    }
  }
  return out;
}

namespace {

void FillError(ApiOutcome& out) {
  json doc = ParseBoundedJson(out.body);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
    const json& e = doc["error"];
    if (e.contains("code") && e["code"].is_string()) out.code = e["code"];
    if (e.contains("message") && e["message"].is_string()) out.message = e["message"];
  }
}

}  // namespace

ApiOutcome ApiConnection::stream(std::string_view target, const std::function<bool(const std::string&)>& on_frame) {
  HeaderList headers = {{"Accept", "text/event-stream"}, {"X-Ironflow-Environment", environment_}};
  if (!authorization_.empty()) headers.emplace_back("Authorization", authorization_);
  ApiOutcome out;
  SseFrames frames;
  Status st = client_->Stream(
      target, headers, [&](int status) { out.status = status; },
      [&](std::string_view data) {
        if (!out.ok()) {
          out.body.append(data);
          return out.body.size() < 64 * 1024;
        }
        return frames.Feed(data, [&](std::string frame) { return on_frame(frame); });
      },
      0);
  for (auto& [name, value] : headers) {
    if (name == "Authorization") OPENSSL_cleanse(value.data(), value.size());
  }
  if (out.status == 0) {
    out.code = "unavailable";
    out.message = st.message();
  } else if (!out.ok()) {
    FillError(out);
  }
  return out;
}

std::string EncodePathSegment(std::string_view segment) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string FunctionRegistrationBody(const Function& fn, std::string_view mode, std::string_view url) {
  const FunctionConfig& c = fn.config;
  json triggers = json::array();
  for (const auto& t : c.triggers) triggers.push_back({{"event", t.event}});
  json doc = {{"id", c.id},
              {"triggers", triggers},
              {"secrets", c.secrets},
              {"retry",
               {{"max_attempts", c.retry.max_attempts},
                {"initial_delay_ms", c.retry.initial_delay_ms},
                {"backoff_factor", c.retry.backoff_factor},
                {"max_delay_ms", c.retry.max_delay_ms}}},
              {"timeout_ms", c.timeout_ms},
              {"mode", std::string(mode)}};
  if (!c.name.empty()) doc["name"] = c.name;
  if (!url.empty()) doc["url"] = std::string(url);
  return doc.dump();
}

void ThrowApiError(const ApiOutcome& outcome, const std::string& what) {
  throw ApiError(outcome.status, outcome.code.empty() ? "unknown" : outcome.code,
                 what + " failed: " + outcome.describe());
}

}  // namespace ironflow::detail
