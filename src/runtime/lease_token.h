// LeaseToken: the opaque token a pull worker gets with each job and sends back with its result.
//
// It names the attempt (environment, run, attempt, worker), a random lease id (also stored in the run record),
// and the JetStream ack subject of the job's message, so whichever server receives the result can settle the
// message. The server authenticates it with HMAC-SHA256 under the signing keyring's current key (any key in
// force verifies, so a signing-key rotation does not void leases); a worker can neither forge a token nor alter
// its ack subject. Format: "lt1." + hex(fields joined by '\n') + "." + hex(HMAC). Holds no secret value.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "crypto/secure_bytes.h"

namespace ironflow::server {

struct LeaseClaim {
  std::string environment;
  std::string run_id;
  int attempt = 0;
  std::string worker_id;
  std::string lease_id;
  std::string ack_subject;
};

std::string SealLeaseToken(const LeaseClaim& claim, ByteView key);
// The claim, if `token` is well-formed and its MAC verifies under one of `keys`; kConflict otherwise (a result
// with a token that is not ours is treated like one for a lease that ended).
Result<LeaseClaim> OpenLeaseToken(std::string_view token, const std::vector<ByteView>& keys);

}  // namespace ironflow::server
