// HttpClient: a small blocking HTTP/1.1 client (Boost.Beast) for the CLI, the tests and the benchmarks.
//
// One instance holds one keep-alive connection to one server and reconnects once if the server closed it.
// Not thread-safe: use one client per thread. http:// and https:// URLs; over https (TLS 1.2 or later) the
// server's certificate must chain to the CA file given (or to the system trust store when none is) and name the
// URL's host, else every request fails with kUnavailable naming the TLS error.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "http/http_message.h"

namespace ironflow {

struct ClientResponse {
  int status = 0;
  HeaderList headers;  // names lower-case
  std::string body;
  std::optional<std::string> header(std::string_view lower_name) const;
};

class HttpClient {
 public:
  // `base_url` like "http://localhost:9123" or "https://ironflow.internal" (a trailing path is ignored).
  // `ca_file`: PEM CA certificate(s) trusted for https (empty: the system trust store). kInvalidArgument if the
  // URL is malformed or the CA file cannot be read.
  static Result<std::unique_ptr<HttpClient>> Create(std::string_view base_url, const std::string& ca_file = "");
  ~HttpClient();

  // `target` is path + query, e.g. "/api/v1/secrets". kUnavailable when the server cannot be reached or does
  // not answer within `timeout_ms`.
  Result<ClientResponse> Send(std::string_view method, std::string_view target, const HeaderList& headers,
                              std::string_view body = {}, int timeout_ms = 60000);

  // Sends a request and feeds body bytes to `on_data` as they arrive, until it returns false, the server ends
  // the response, or `timeout_ms` passes with nothing received (0 = no limit). `on_status` sees the status first.
  Status Stream(std::string_view target, const HeaderList& headers, const std::function<void(int status)>& on_status,
                const std::function<bool(std::string_view)>& on_data, int timeout_ms = 0);

 private:
  HttpClient();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ironflow
