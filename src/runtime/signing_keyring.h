// SigningKeyring: the push-mode request signing keys, shared by every server process through NATS.
//
// The keys live in bucket `ironflow-system` under `signingkey` as a SecretRecord (environment "_system", name
// "SIGNING_KEY") whose value is sealed under the master key like a secret (plaintext in dev mode):
//   {"current":"<64 hex>","previous":"<64 hex>","previous_until":<unix ms>}
// (the first format, a bare 64-hex current key, is still read). Rotate() makes a new current key and keeps the
// old one signing until `previous_until`, so during the grace window every push request carries both `v1=`
// signatures and apps can switch keys at their own pace. One previous key at most: rotating again within the
// window retires the older one at once. Each process rereads the record at most once a second, so a rotation
// made through one server is used by all within about a second. With IRONFLOW_SIGNING_KEY the key is fixed and
// Rotate() is refused. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "crypto/secure_bytes.h"
#include "events/system_events.h"
#include "secrets/value_sealer.h"
#include "store/kv_bucket.h"

namespace ironflow::server {

class SigningKeyring {
 public:
  struct Keys {
    SecureBytes current;
    SecureBytes previous;           // empty when there is none
    int64_t previous_until_ms = 0;  // previous signs while now < previous_until_ms
  };

  // Loads the keys, or creates the first key if there is none (or fixes them to `configured_hex`, 64 hex).
  // A record sealed in dev mode or under the previous master key is re-sealed under the current one.
  // Rotations publish system.signingkey.push.rotated on `events`.
  static Result<std::unique_ptr<SigningKeyring>> Open(KvBucket& system_bucket, const ValueSealer& sealer,
                                                      SystemEvents& events,
                                                      const std::optional<std::string>& configured_hex);

  // The keys in force (refreshed from NATS when older than a second; on a NATS error the last known keys).
  std::shared_ptr<const Keys> keys();
  // `X-Ironflow-Signature` for `body` at `unix_seconds`: one v1 per key in force (current first).
  std::string Sign(int64_t unix_seconds, std::string_view body);

  struct Rotation {
    SecretString current_hex;
    int64_t previous_until_ms = 0;  // 0: the old key stopped signing at once
  };
  // A new random current key; the old one keeps signing for `grace_ms` (0 = stop at once). Compare-and-set, so
  // concurrent rotations through several servers each retire a key instead of losing one. kConflict
  // when the key comes from IRONFLOW_SIGNING_KEY; kUnavailable when the rotation's audit event could not be
  // stored (the key is rotated then: read it with keys()).
  Result<Rotation> Rotate(int64_t grace_ms, const Actor& actor);

  bool fixed() const { return fixed_; }

 private:
  SigningKeyring(KvBucket& bucket, const ValueSealer& sealer, SystemEvents& events)
      : bucket_(bucket), sealer_(sealer), events_(events) {}
  // Reads the record (re-sealing it if needed); revision 0 when absent.
  Result<std::pair<std::shared_ptr<Keys>, uint64_t>> Load();
  Status CreateFirst();

  KvBucket& bucket_;
  const ValueSealer& sealer_;
  SystemEvents& events_;
  bool fixed_ = false;
  std::mutex mu_;
  std::shared_ptr<const Keys> keys_;
  int64_t loaded_at_ms_ = 0;
};

}  // namespace ironflow::server
