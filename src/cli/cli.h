// The `ironflow` command line: option structs and the entry point of each command group.
// Every command prints one readable line on stderr and returns exit code 1 on error.
#pragma once

#include <string>
#include <vector>

#include "server/server.h"

namespace CLI {
class App;
}

namespace ironflow::server::cli {

struct GlobalOptions {
  std::string server = "http://localhost:9123";
  std::string api_key;
  std::string data_dir = ".ironflow";
  std::string ca_file;  // CA trusted for an https:// server (empty: the system trust store)
  bool json = false;
};

// Registers `serve`; the callback runs the server until SIGINT/SIGTERM.
void AddServeCommand(CLI::App& app, int* exit_code);
// Registers `secret`, `env`, `subscribe`, `version`.
void AddClientCommands(CLI::App& app, GlobalOptions& global, int* exit_code);

}  // namespace ironflow::server::cli
