// Shared by the CLI's command files: the API client the commands use, the one-line error convention, and small
// input/output helpers. Internal to src/cli.
#pragma once

#include <fmt/core.h>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli.h"
#include "crypto/secure_bytes.h"
#include "http/http_client.h"

namespace ironflow::server::cli {

using nlohmann::json;

// A failed command: the message is printed as one line and the process exits 1. `code` is the server's error code
// when the server refused the request ("already_exists", "conflict", ...; api/api_error.cc), empty otherwise:
// commands that handle an expected refusal compare the code, never the message text.
struct CommandError {
  std::string message;
  std::string code;
};

// The CommandError for a server's error answer: {"error":{"code","message"}} or, failing that, the HTTP status.
CommandError ServerRefused(int http_status, const std::string& body);

std::string Trim(std::string s);

// Calls the HTTP API with the global options' server and API key (flag, IRONFLOW_API_KEY, or the bootstrap key
// file in --data-dir). A 4xx/5xx answer becomes a CommandError carrying the server's message and code.
class Api {
 public:
  explicit Api(const GlobalOptions& g) : global_(g) {}

  // Sends one request; returns the JSON answer (null for 204 or an empty body). `status_out` gets the HTTP status.
  json Call(const std::string& method, const std::string& target, const std::string& env, const std::string& body = "",
            const HeaderList& extra = {}, int* status_out = nullptr);
  // Streams Server-Sent Events from `target`; calls on_frame with each frame's text (without the blank line)
  // until it returns false or the stream ends. Throws CommandError when the server refuses the stream.
  void Stream(const std::string& target, const std::string& env,
              const std::function<bool(const std::string&)>& on_frame);
  std::unique_ptr<HttpClient> Client();
  HeaderList BaseHeaders(const std::string& env);

 private:
  std::string ApiKey();
  const GlobalOptions& global_;
};

// Reads a value from a terminal without echo, or all of stdin otherwise (one trailing newline dropped).
SecretString ReadValueFromStdin(const std::string& name);
SecretString ReadValueFromFile(const std::string& path);
bool Confirm(const std::string& question);
void PrintJson(const json& j);
// IRONFLOW_ENV, else "default".
std::string DefaultEnv();

// Registers `config` and `kv` (store_commands.cc).
void AddStoreCommands(CLI::App& app, GlobalOptions& g, int* exit_code);
// Registers `apikey create-admin` under the existing `apikey` command (admin_key_command.cc).
void AddAdminKeyCommand(CLI::App& app, GlobalOptions& g, int* exit_code);
// Registers `backup` and `restore` (backup_command.cc).
void AddBackupCommands(CLI::App& app, GlobalOptions& g, int* exit_code);

// Runs `body`, turning a CommandError into one line on stderr and exit code 1.
template <typename F>
std::function<void()> Guard(int* exit_code, F body) {
  return [exit_code, body] {
    try {
      body();
    } catch (const CommandError& e) {
      fmt::print(stderr, "error: {}\n", e.message);
      *exit_code = 1;
    }
  };
}

}  // namespace ironflow::server::cli
