// Internal: one keep-alive connection to the Ironflow server's API (over src/http's HttpClient), adding the
// Authorization and X-Ironflow-Environment headers, and turning every answer into an ApiOutcome. Not
// thread-safe: one per thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "http/http_message.h"
#include "ironflow/function.h"

namespace ironflow {
class HttpClient;
}

namespace ironflow::detail {

struct ApiOutcome {
  int status = 0;       // HTTP status; 0 when the server could not be reached or did not answer in time
  std::string body;     // response body (may carry secret values: callers wipe it)
  std::string code;     // API error code ("unavailable" when status is 0)
  std::string message;  // error message from the server, or the transport error

  bool ok() const { return status >= 200 && status < 300; }
  // Worth retrying later: unreachable, 5xx, 408, 429.
  bool transient() const { return status == 0 || status >= 500 || status == 408 || status == 429; }
  // "HTTP 401 unauthenticated: ..." / "server unreachable: ..."
  std::string describe() const;
};

class ApiConnection {
 public:
  // Throws std::invalid_argument for a malformed URL.
  // `ca_file`: CA trusted for an https:// server (empty: the system trust store).
  ApiConnection(const std::string& server_url, const std::string& api_key, const std::string& environment,
                const std::string& ca_file = "");
  ~ApiConnection();
  ApiConnection(const ApiConnection&) = delete;
  ApiConnection& operator=(const ApiConnection&) = delete;

  ApiOutcome call(std::string_view method, std::string_view target, std::string_view body, int timeout_ms,
                  const HeaderList& extra = {});
  // GET `target` as Server-Sent Events: on_frame gets each frame's text until it returns false or the stream ends.
  // Returns the outcome of the request (status 200 and an empty body when the stream ran and ended).
  ApiOutcome stream(std::string_view target, const std::function<bool(const std::string&)>& on_frame);
  void set_environment(std::string environment) { environment_ = std::move(environment); }

 private:
  std::unique_ptr<HttpClient> client_;
  std::string authorization_;
  std::string environment_;
};

// Throws std::invalid_argument unless `url` is an http:// or https:// URL HttpClient accepts (and `ca_file`, if
// given, is a readable CA file).
void CheckServerUrl(const std::string& url, const std::string& ca_file = "");
// Percent-encodes one path segment (everything but unreserved characters).
std::string EncodePathSegment(std::string_view segment);
// The registration body {id, name?, triggers, secrets, retry, timeout_ms, mode, url?}.
std::string FunctionRegistrationBody(const Function& fn, std::string_view mode, std::string_view url);
// Throws ApiError for a failed outcome, prefixed with `what` ("registering function \"payout\"").
[[noreturn]] void ThrowApiError(const ApiOutcome& outcome, const std::string& what);

}  // namespace ironflow::detail
