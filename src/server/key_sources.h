// KeySources: where the server's keys come from, and keeping them out of every other process.
//
// Each key (the master key, the previous master key during a rotation, the push signing key) is read from exactly
// one source: its environment variable (IRONFLOW_MASTER_KEY, IRONFLOW_MASTER_KEY_PREVIOUS, IRONFLOW_SIGNING_KEY),
// a file (--master-key-file / IRONFLOW_MASTER_KEY_FILE, --master-key-previous-file /
// IRONFLOW_MASTER_KEY_PREVIOUS_FILE), or a systemd credential ($CREDENTIALS_DIRECTORY/ironflow-master-key,
// .../ironflow-master-key-previous) when neither is given. Two explicit sources for one key are refused. Files hold
// the 64 hex characters (surrounding whitespace ignored); a file others can read is refused.
//
// ScrubKeyVariables() then overwrites the variables' bytes in the process's own environment block (unsetenv alone
// leaves them readable in /proc/<pid>/environ) and removes them, so neither this process's environ nor any child
// (the embedded nats-server starts with a minimal environment anyway) carries a key. Call once, early, from the
// main thread before other threads read the environment.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "crypto/secure_bytes.h"

namespace ironflow::server {

struct KeyFileOptions {
  std::string master_key_file;           // --master-key-file
  std::string previous_master_key_file;  // --master-key-previous-file
};

struct ServerKeys {
  std::optional<SecretString> master_hex;  // unset or empty: dev mode
  std::optional<SecretString> previous_hex;
  std::optional<SecretString> signing_hex;
  std::string master_source;  // "IRONFLOW_MASTER_KEY", "file /path", "systemd credential ..."
};

// Reads the keys from their sources (see above). Never puts key bytes in an error message.
Result<ServerKeys> ReadServerKeys(const KeyFileOptions& files);

// Overwrites and removes IRONFLOW_MASTER_KEY, IRONFLOW_MASTER_KEY_PREVIOUS and IRONFLOW_SIGNING_KEY from this
// process's environment.
void ScrubKeyVariables();

}  // namespace ironflow::server
