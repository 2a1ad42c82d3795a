// Validation of user-supplied identifiers. Each returns OK or an InvalidArgument naming the rule broken.
//   environment: ^[a-z0-9][a-z0-9-]{0,62}$
//   secret name: ^[A-Za-z_][A-Za-z0-9_-]{0,127}$   (exactly one NATS subject token: no dots, wildcards, spaces)
//   subject pattern: NATS subject with optional `*` tokens and a trailing `>`
//   config name: same rule as a secret name
//   KV bucket name: ^[a-z0-9][a-z0-9_-]{0,62}$
//   KV key: [-_=.a-zA-Z0-9]+, at most 256 characters, no leading, trailing or double dot
//   KV key pattern: a key whose tokens may also be `*`, or end with `>`
#pragma once

#include <string_view>

#include "common/status.h"

namespace ironflow::server {

Status ValidateEnvironmentName(std::string_view name);
Status ValidateSecretName(std::string_view name);
Status ValidateSubjectPattern(std::string_view pattern);
Status ValidateConfigName(std::string_view name);
Status ValidateBucketName(std::string_view name);
Status ValidateKvKey(std::string_view key);
Status ValidateKvKeyPattern(std::string_view pattern);
// True when `subject` matches the NATS wildcard `pattern` (`*` one token, `>` one or more trailing tokens).
bool SubjectMatches(std::string_view pattern, std::string_view subject);

}  // namespace ironflow::server
