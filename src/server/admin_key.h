// MintAdminKey: `ironflow apikey create-admin`. Creates an admin API key straight in NATS, for an operator who
// holds the master key and NATS access but no working admin key (the bootstrap key was lost, or a second
// server's data dir has none).
//
// The master key is the proof: it must open the store's key-check record (a store without one, i.e. dev mode or
// never started with a key, is refused). Only then is the key created, audited as `system.apikey.<id>.created`
// with actor type "operator", and returned once. Changes nothing else: the audit stream's settings stay as the
// servers set them.
#pragma once

#include <string>

#include "auth/api_key_store.h"
#include "common/status.h"
#include "crypto/master_key.h"
#include "store/nats_connection.h"

namespace ironflow::server {

struct MintAdminKeyOptions {
  NatsConnection::Options nats;  // the NATS the servers use
  std::string name;              // the new key's name
  const MasterKey* key = nullptr;
};

Result<NewApiKey> MintAdminKey(const MintAdminKeyOptions& options);

}  // namespace ironflow::server
