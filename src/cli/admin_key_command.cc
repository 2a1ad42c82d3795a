// `ironflow apikey create-admin`: an admin key minted straight in NATS by whoever holds the master key (a lost
// bootstrap key, a second server). The server logic is server/admin_key.h; this file parses and prints.
#include <CLI/CLI.hpp>

#include "cli/cli_support.h"
#include "server/admin_key.h"
#include "server/key_sources.h"

namespace ironflow::cli {

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
  cmd->add_option("--nats-url", o->mint.nats_url, "NATS server URL(s) the Ironflow servers use")
      ->envname("NATS_URL")->required();
  cmd->add_option("--nats-creds", o->mint.nats_creds, "Credentials file for NATS")->envname("NATS_CREDS");
  cmd->add_option("--nats-tls-ca", o->mint.nats_tls_ca, "CA file for NATS TLS")->envname("NATS_TLS_CA");
  cmd->add_option("--nats-tls-cert", o->mint.nats_tls_cert, "Client certificate for NATS")->envname("NATS_TLS_CERT");
  cmd->add_option("--nats-tls-key", o->mint.nats_tls_key, "Client key for NATS")->envname("NATS_TLS_KEY");
  cmd->add_option("--master-key-file", o->key_files.master_key_file,
                  "File holding the master key (mode 0600) instead of IRONFLOW_MASTER_KEY")
      ->envname("IRONFLOW_MASTER_KEY_FILE");
  cmd->callback(Guard(exit_code, [o, &g] {
    auto keys = ReadServerKeys(o->key_files);
    ScrubKeyVariables();
    if (!keys.ok()) throw CommandError{keys.status().message()};
    if (!keys->master_hex) {
      throw CommandError{"creating an admin key needs the master key (IRONFLOW_MASTER_KEY or --master-key-file)"};
    }
    auto key = MasterKey::FromHex(keys->master_hex->view());
    *keys = ServerKeys{};
    if (!key.ok()) throw CommandError{key.status().message()};
    o->mint.key = &*key;
    auto created = MintAdminKey(o->mint);
    if (!created.ok()) throw CommandError{created.status().message()};
    const auto& p = created->info.principal;
    if (g.json) {
      PrintJson(json{{"id", p.id}, {"name", p.name}, {"role", p.role}, {"key", created->key}});
    } else {
      std::printf("created admin API key %s (%s)\n%s\n", p.id.c_str(), p.name.c_str(), created->key.c_str());
      std::fprintf(stderr, "store it now: the key is shown only once\n");
    }
    Cleanse(created->key);
  }));
}

}  // namespace ironflow::cli
