// Helpers that run the real `ironflow` binary: a server process (ServerProcess), one-shot CLI runs (RunCli),
// and a small JSON API client (ApiClient). Child processes get a clean environment: only PATH, HOME and what
// the test passes, so a developer's IRONFLOW_* variables never leak in.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http/http_client.h"
#include "support/temp_dir.h"

namespace ironflow::server::testing {

using Env = std::map<std::string, std::string>;

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `ironflow args...` to completion with `stdin_data` on its stdin.
ProcessResult RunIronflow(const std::vector<std::string>& args, const Env& env = {},
                          const std::string& stdin_data = "");

// A 64-hex-char master key.
std::string NewMasterKey();

class ServerProcess {
 public:
  struct Options {
    std::string nats_url;    // empty: embedded nats-server
    std::string data_dir;    // required
    std::string master_key;  // empty: dev mode (plaintext)
    bool dev_auth = false;   // --dev (no authentication)
    std::vector<std::string> extra_args;
    std::string host = "127.0.0.1";
    std::string previous_master_key;  // IRONFLOW_MASTER_KEY_PREVIOUS (rotation)
    // HTTPS: --tls-cert/--tls-key, and the CA the readiness probe (and url() users) trust.
    std::string tls_cert, tls_key, ca_file;
    Env extra_env;  // more environment variables for the server (e.g. IRONFLOW_SIGNING_KEY)
  };

  explicit ServerProcess(Options o);
  ~ServerProcess();

  // Starts and waits for /readyz. False (with the log in `error`) if it exits or is not ready in 20 s. Retried
  // (up to 3 times) on another port when the chosen port was taken before the server could bind it.
  bool Start(std::string* error);
  // Starts without waiting for anything (port() is known at once). For tests that watch the start themselves.
  void Launch();
  // Starts and waits for the process to exit (for configurations that must be refused). Returns its exit code.
  int RunUntilExit(int timeout_ms = 20000);
  // SIGTERM and wait (SIGKILL after 10 s). Returns the exit status code.
  int Stop();
  bool running() const { return pid_ > 0; }
  // True once the process has ended on its own (it is reaped here: Stop() then has nothing left to do).
  bool Exited();
  // After Exited() returned true: "exit code N" or "killed by signal N".
  std::string how_it_ended() const;
  pid_t pid() const { return pid_; }

  int port() const { return port_; }
  std::string url() const {
    return (options_.tls_cert.empty() ? "http://127.0.0.1:" : "https://127.0.0.1:") + std::to_string(port_);
  }
  std::string log() const { return ReadFile(log_path_); }
  const Options& options() const { return options_; }
  // The bootstrap API key written by the server (empty under --dev).
  std::string api_key() const;

 private:
  bool StartOnce(std::string* error);
  Options options_;
  int port_ = 0;
  pid_t pid_ = -1;
  int exit_code_ = 0;  // set by Exited(): the exit code, or minus the signal
  std::string log_path_;
};

// A JSON client bound to one server, one API key and one environment.
class ApiClient {
 public:
  struct Response {
    int status = 0;
    nlohmann::json body;  // null when empty or not JSON
    std::string raw;
    HeaderList headers;
    std::string header(const std::string& lower) const;
  };

  ApiClient(const std::string& base_url, std::string api_key, std::string environment = "default",
            const std::string& ca_file = "");
  Response Call(const std::string& method, const std::string& target, const std::string& body = "",
                const HeaderList& extra = {});
  Response Call(const std::string& method, const std::string& target, const nlohmann::json& body,
                const HeaderList& extra = {});
  void set_environment(std::string env) { environment_ = std::move(env); }
  void set_api_key(std::string key) { api_key_ = std::move(key); }

 private:
  std::unique_ptr<HttpClient> http_;
  std::string api_key_;
  std::string environment_;
};

}  // namespace ironflow::server::testing
