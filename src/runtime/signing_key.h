// The push-mode signing key: 32 bytes, from IRONFLOW_SIGNING_KEY (64 hex) or generated once and kept in bucket
// `ironflow-system` under key `signingkey`, sealed like a secret (environment "_system", name "SIGNING_KEY") under
// the master key when there is one — so every server process signs alike.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "crypto/secure_bytes.h"
#include "secrets/value_sealer.h"
#include "store/kv_bucket.h"

namespace ironflow {

Result<SecureBytes> LoadOrCreateSigningKey(KvBucket& system_bucket, const ValueSealer& sealer,
                                           const std::optional<std::string>& configured_hex);

}  // namespace ironflow
