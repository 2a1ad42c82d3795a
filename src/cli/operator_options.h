// Flags shared by the commands that work on NATS directly with the master key instead of through a server
// (`apikey create-admin`, `backup`, `restore`): how to reach NATS, and reading the master key. Internal to src/cli.
#pragma once

#include <string>

#include "crypto/master_key.h"
#include "server/key_sources.h"
#include "store/nats_connection.h"

namespace CLI {
class App;
}

namespace ironflow::server::cli {

// --nats-url (required; NATS_URL), --nats-creds, --nats-tls-ca, --nats-tls-cert, --nats-tls-key into `*options`.
void AddNatsFlags(CLI::App* cmd, NatsConnection::Options* options);
// --master-key-file (IRONFLOW_MASTER_KEY_FILE) into `*files`.
void AddMasterKeyFlag(CLI::App* cmd, KeyFileOptions* files);
// The master key from IRONFLOW_MASTER_KEY or the file; the key variables are scrubbed from the environment.
// Throws CommandError when there is none (`why` says what needs it) or it is malformed.
MasterKey RequireMasterKey(const KeyFileOptions& files, const std::string& why);
// Connects (5 s deadline); throws CommandError on failure.
std::unique_ptr<NatsConnection> ConnectOrThrow(const NatsConnection::Options& options);

}  // namespace ironflow::server::cli
