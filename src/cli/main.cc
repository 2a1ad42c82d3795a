// ironflow: one binary for the server (`ironflow serve`) and the CLI.
#include <fmt/core.h>
#include <signal.h>

#include <CLI/CLI.hpp>

#include "cli/cli.h"

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Ironflow secrets: environment-scoped, encrypted at rest in NATS JetStream", "ironflow"};
  app.require_subcommand(1);
  // Global options (--json, -s, --api-key, ...) work before or after the subcommand: every subcommand created
  // below inherits fallthrough, so an option it does not know is matched against its parents.
  app.fallthrough();
  ironflow::server::cli::GlobalOptions global;
  app.add_option("-s,--server", global.server, "Server URL")->envname("IRONFLOW_SERVER_URL")->capture_default_str();
  app.add_option("--api-key", global.api_key, "API key (default: <data-dir>/bootstrap_key if readable)")
      ->envname("IRONFLOW_API_KEY");
  app.add_option("--data-dir", global.data_dir, "Data directory")->envname("IRONFLOW_DATA_DIR")->capture_default_str();
  app.add_option("--ca-file", global.ca_file, "CA certificate (PEM) to trust for an https:// server")
      ->envname("IRONFLOW_CA_FILE");
  app.add_flag("--json", global.json, "Print JSON");
  int exit_code = 0;
  ironflow::server::cli::AddServeCommand(app, &exit_code);
  ironflow::server::cli::AddClientCommands(app, global, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "error: {} (see ironflow --help)\n", e.what());
    return 1;
  }
  return exit_code;
}
