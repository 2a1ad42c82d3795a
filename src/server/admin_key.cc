#include "server/admin_key.h"

#include "events/system_events.h"
#include "secrets/key_check.h"
#include "secrets/secret_store.h"
#include "store/kv_bucket.h"
#include "store/nats_connection.h"
#include "store/system_stream.h"

namespace ironflow::server {

Result<NewApiKey> MintAdminKey(const MintAdminKeyOptions& o) {
  if (o.key == nullptr) {
    return Status::InvalidArgument(
        "creating an admin key needs the master key (IRONFLOW_MASTER_KEY or "
        "--master-key-file): it is the proof that you operate this deployment");
  }
  IF_ASSIGN_OR_RETURN(auto nc, NatsConnection::Connect(o.nats));

  if (Status proven = ProveMasterKey(*nc, *o.key); !proven.ok()) {
    if (proven.is(Code::kNotFound)) return Status::NotFound(proven.message() + ": start `ironflow serve` on it first");
    if (proven.is(Code::kPreconditionFailed)) {
      return Status::PreconditionFailed(proven.message() + "; use the bootstrap key");
    }
    return proven;
  }

  IF_ASSIGN_OR_RETURN(auto auth, KvBucket::Open(*nc, kAuthBucket));
  IF_ASSIGN_OR_RETURN(auto stream, SystemStream::Bind(*nc));
  SystemEvents events(stream);
  ApiKeyStore keys(*auth, events);
  ApiKeySpec spec;
  spec.name = o.name;
  spec.role = Role::kAdmin;
  Actor operator_actor;
  operator_actor.type = "operator";
  operator_actor.name = "create-admin (master key " + o.key->key_id() + ")";
  operator_actor.role = Role::kAdmin;
  return keys.Create(spec, operator_actor);
}

}  // namespace ironflow::server
