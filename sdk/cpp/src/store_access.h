// Internal: what ConfigClient and KvClient need to reach the server: its URL and API key, and a small pool of
// keep-alive connections shared by every handle made from the same Worker, PushServer or Client. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api_connection.h"

namespace ironflow::detail {

class StoreAccess {
 public:
  // Throws std::invalid_argument for a malformed URL.
  StoreAccess(std::string server_url, std::string api_key, int timeout_ms = 30000, std::string ca_file = "");
  ~StoreAccess();

  // One request in `environment`; a failed outcome is thrown as ApiError prefixed with `what`.
  nlohmann::json call(const std::string& environment, std::string_view method, std::string_view target,
                      std::string_view body, const std::string& what, const HeaderList& extra = {});
  // The raw outcome (callers that treat some failures, e.g. 404, as answers).
  ApiOutcome callRaw(const std::string& environment, std::string_view method, std::string_view target,
                     std::string_view body, const HeaderList& extra = {});
  // An SSE stream on a connection of its own (streams are long).
  void stream(const std::string& environment, std::string_view target,
              const std::function<bool(const std::string&)>& on_frame, const std::string& what);

 private:
  std::unique_ptr<ApiConnection> acquire(const std::string& environment);
  void release(std::unique_ptr<ApiConnection> c);

  std::string server_url_;
  std::string api_key_;
  int timeout_ms_;
  std::string ca_file_;
  std::mutex mu_;
  std::vector<std::unique_ptr<ApiConnection>> idle_;
};

}  // namespace ironflow::detail
