// Key check: makes sure the server runs with the master key the stored data was written with.
//
// The record lives in bucket `ironflow-system`, key `keycheck`: {"key_id", "algorithm", "check": sealed known
// text, "created_at"}. With a key: absent → written (create-only, so racing servers agree); present with another
// key id, or failing to open → refuse. Without a key (dev mode): a present record means the data is encrypted, and
// dev mode refuses to start rather than mix plaintext into an encrypted store. During a rotation, a record written
// with `previous` (IRONFLOW_MASTER_KEY_PREVIOUS) is verified with it and then moved to the current key
// (compare-and-set); a record under any other key still refuses. Nothing else is ever overwritten.
//
// An absent record is trusted only on a store that has never held sealed data: if any sealed record (a secret,
// the signing key) or nonce counter exists, the check refuses to start, naming the key ids those records carry,
// and writes nothing. With `recreate_if_missing` (--recreate-key-check) the key is proven first by opening one
// sealed record under its own key id (or the previous key's), and only then is a new record written.
#pragma once

#include "common/status.h"
#include "crypto/master_key.h"
#include "store/kv_bucket.h"

namespace ironflow::server {

inline constexpr const char* kSystemBucket = "ironflow-system";  // key check, nonce counters, signing key
inline constexpr const char* kKeyCheckKey = "keycheck";

struct KeyCheckOptions {
  const MasterKey* key = nullptr;       // null: dev mode
  const MasterKey* previous = nullptr;  // IRONFLOW_MASTER_KEY_PREVIOUS
  bool recreate_if_missing = false;     // --recreate-key-check
};

// `secrets_bucket` is read (never written) to find sealed records when the key-check record is missing.
Status VerifyOrRecordMasterKey(KvBucket& system_bucket, KvBucket& secrets_bucket, const KeyCheckOptions& options);

// For tools beside the servers (`apikey create-admin`, `backup`): OK when `key` opens the key-check record of
// the store in `nc`; writes nothing. kNotFound when the NATS holds no Ironflow store, kPreconditionFailed when the
// store has no record (dev mode, or never started with a master key), kPermissionDenied (from the check) when the
// key is not the store's.
Status ProveMasterKey(NatsConnection& nc, const MasterKey& key);

}  // namespace ironflow::server
