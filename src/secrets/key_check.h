// Key check: makes sure the server runs with the master key the stored data was written with.
//
// The record lives in bucket `ironflow-system`, key `keycheck`: {"key_id", "algorithm", "check": sealed known
// text, "created_at"}. With a key: absent → written (create-only, so racing servers agree); present with another
// key id, or failing to open → refuse. Without a key (dev mode): a present record means the data is encrypted, and
// dev mode refuses to start rather than mix plaintext into an encrypted store. During a rotation, a record written
// with `previous` (IRONFLOW_MASTER_KEY_PREVIOUS) is verified with it and then moved to the current key
// (compare-and-set); a record under any other key still refuses. Nothing else is ever overwritten.
#pragma once

#include "common/status.h"
#include "crypto/master_key.h"
#include "store/kv_bucket.h"

namespace ironflow {

inline constexpr const char* kKeyCheckKey = "keycheck";

Status VerifyOrRecordMasterKey(KvBucket& system_bucket, const MasterKey* key, const MasterKey* previous = nullptr);

}  // namespace ironflow
