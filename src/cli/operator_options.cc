#include "cli/operator_options.h"

#include <CLI/CLI.hpp>

#include "cli/cli_support.h"

namespace ironflow::server::cli {

void AddNatsFlags(CLI::App* cmd, NatsConnection::Options* o) {
  o->connect_deadline_ms = 5000;
  cmd->add_option("--nats-url", o->url, "NATS server URL(s) the Ironflow servers use, comma-separated")
      ->envname("NATS_URL")
      ->required();
  cmd->add_option("--nats-creds", o->creds_file, "Credentials file for NATS")->envname("NATS_CREDS");
  cmd->add_option("--nats-tls-ca", o->tls_ca_file, "CA file for NATS TLS")->envname("NATS_TLS_CA");
  cmd->add_option("--nats-tls-cert", o->tls_cert_file, "Client certificate for NATS")->envname("NATS_TLS_CERT");
  cmd->add_option("--nats-tls-key", o->tls_key_file, "Client key for NATS")->envname("NATS_TLS_KEY");
}

void AddMasterKeyFlag(CLI::App* cmd, KeyFileOptions* files) {
  cmd->add_option("--master-key-file", files->master_key_file,
                  "File holding the master key (mode 0600) instead of IRONFLOW_MASTER_KEY")
      ->envname("IRONFLOW_MASTER_KEY_FILE");
}

MasterKey RequireMasterKey(const KeyFileOptions& files, const std::string& why) {
  auto keys = ReadServerKeys(files);
  ScrubKeyVariables();
  if (!keys.ok()) throw CommandError{keys.status().message()};
  if (!keys->master_hex) throw CommandError{why + " needs the master key (IRONFLOW_MASTER_KEY or --master-key-file)"};
  auto key = MasterKey::FromHex(keys->master_hex->view());
  *keys = ServerKeys{};
  if (!key.ok()) throw CommandError{key.status().message()};
  return std::move(key).value();
}

std::unique_ptr<NatsConnection> ConnectOrThrow(const NatsConnection::Options& options) {
  auto nc = NatsConnection::Connect(options);
  if (!nc.ok()) throw CommandError{nc.status().message()};
  return std::move(nc).value();
}

}  // namespace ironflow::server::cli
