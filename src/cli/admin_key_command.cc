// `ironflow apikey create-admin`: an admin key minted straight in NATS by whoever holds the master key (a lost
// bootstrap key, a second server). The server logic is server/admin_key.h; this file parses and prints.
#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include "cli/cli_support.h"
#include "cli/operator_options.h"
#include "server/admin_key.h"

namespace ironflow::server::cli {

void AddAdminKeyCommand(CLI::App& app, GlobalOptions& g, int* exit_code) {
  CLI::App* apikey = app.get_subcommand("apikey");
  struct Opts {
    MintAdminKeyOptions mint;
    KeyFileOptions key_files;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = apikey->add_subcommand(
      "create-admin", "Create an admin key directly in NATS, proven by the master key (no server or API key needed)");
  cmd->add_option("NAME", o->mint.name, "Name of the new key")->required();
  o->mint.nats.name = "ironflow-create-admin";
  AddNatsFlags(cmd, &o->mint.nats);
  AddMasterKeyFlag(cmd, &o->key_files);
  cmd->callback(Guard(exit_code, [o, &g] {
    MasterKey key = RequireMasterKey(o->key_files, "creating an admin key");
    o->mint.key = &key;
    auto created = MintAdminKey(o->mint);
    if (!created.ok()) throw CommandError{created.status().message()};
    const auto& p = created->info.principal;
    if (g.json) {
      PrintJson(json{{"id", p.id}, {"name", p.name}, {"role", RoleName(p.role)}, {"key", created->key}});
    } else {
      fmt::print("created admin API key {} ({})\n{}\n", p.id, p.name, created->key);
      fmt::print(stderr, "store it now: the key is shown only once\n");
    }
    Cleanse(created->key);
  }));
}

}  // namespace ironflow::server::cli
