// IdempotencyStore: safe retries for writes sent with an `Idempotency-Key` header.
//
// A client sends one key per logical request and the same key on every retry of it. The first request with a
// key claims it (a create-only record in the KV bucket `ironflow-idempotency`, kept 10 minutes:
// layout/store_layout.h) and runs; its
// answer is recorded. Within those 10 minutes a request with the same key:
//   - and the same request (method, path, environment, preconditions, body) gets the recorded answer again,
//     with `Idempotent-Replayed: true`, and changes nothing;
//   - with a different request gets 422 `idempotency_key_reused`;
//   - while the first one is still running gets 503 (Retry-After) — its outcome is not known yet.
// A first attempt that answered 5xx had an unknown outcome: its record says so, and the next attempt runs again
// as a retry (RequestTag::retry), which lets the handler find out whether the first attempt's write landed
// (tagged KV writes, deterministic event and run ids).
//
// A claim is a lease: it runs out `claim_ms` (10 s) after it was last written, and while its request runs the
// claiming process writes it again every `renew_every_ms` (3 s, all of its claims in one round trip) from a
// thread of its own, for at most 5 minutes. So a slow request keeps
// its claim however long it takes, and an attempt whose server died mid-way is taken over (as a retry) within
// about 10 s. Each claim carries a random holder id, which lets Finish tell its own renewed claim from a later
// taker's.
//
// Keys are scoped to the caller's API key: two clients never see each other's answers. The record holds an
// HMAC of the request under a key derived from the master key (never the body itself: it may hold a secret
// value) and the answer: secret metadata, ids, revisions, config documents and counter values (readable data),
// or an error message (built from names, never values). Exactness across servers rests on create-only writes,
// which on replicated buckets need nats-server >= 2.10.20 (docs/decisions.md). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/request_tag.h"
#include "common/status.h"
#include "crypto/secure_bytes.h"
#include "events/system_events.h"
#include "http/http_message.h"
#include "store/kv_bucket.h"

namespace ironflow::server {

class IdempotencyStore {
 public:
  // `fingerprint_key`: the HMAC key for request fingerprints, the same on every server (derived from the master
  // key; a fixed one in dev mode, where values are stored in the clear anyway). `previous_fingerprint_key`
  // (empty: none) is derived from the previous master key during a master-key rotation: a record written by a
  // server still on that key matches too, so a retry that crosses from an old server to a rotated one is replayed
  // instead of refused with 422. (The other way, a server on the old key cannot check a fingerprint made under
  // the new one: docs/decisions.md.)
  struct Timing {
    int64_t claim_ms = 10000;       // a claim not written again for this long belongs to a dead process
    int64_t renew_every_ms = 3000;  // how often a running request's claim is written again
  };
  IdempotencyStore(KvBucket& bucket, SecureBytes fingerprint_key, Timing timing,
                   SecureBytes previous_fingerprint_key = {});
  IdempotencyStore(KvBucket& bucket, SecureBytes fingerprint_key)
      : IdempotencyStore(bucket, std::move(fingerprint_key), Timing{}) {}
  ~IdempotencyStore();  // stops renewing: the claims still held run out as a dead server's would
  IdempotencyStore(const IdempotencyStore&) = delete;
  IdempotencyStore& operator=(const IdempotencyStore&) = delete;

  // What a keyed request does: run (with `tag`), or answer `answer` (a replay, or the 422 for a reused key).
  struct Claim {
    RequestTag tag;
    std::optional<HttpResponse> answer;
    uint64_t record_revision = 0;
    std::string record_key;
    std::string fingerprint;
    std::string holder;  // this claim's random id (empty for an answer)
  };
  // kInvalidArgument for a malformed key (1-255 printable ASCII characters); kUnavailable when the key's first
  // request is still running or the store cannot be reached.
  Result<Claim> Begin(const Actor& actor, const HttpRequest& request, std::string_view key);
  // Records the answer of a claimed request. A 5xx answer marks the outcome unknown (the next attempt runs as a
  // retry); any other is replayed. A failure to record is logged: the claim then runs out and a later attempt
  // runs as a retry. Every claim Begin hands out must be finished, or it is renewed until this store is destroyed.
  void Finish(const Claim& claim, const HttpResponse& response);

 private:
  static std::string Fingerprint(ByteView key, const HttpRequest& request);
  std::string PendingRecord(const std::string& fingerprint, const std::string& holder) const;
  void Hold(const Claim& claim);
  // The revision of the key's record if it is still a pending claim of `holder` (read from the store); nullopt if
  // it is not; an error if the store could not be read.
  Result<std::optional<uint64_t>> PendingRevisionOf(const std::string& record_key, const std::string& holder);
  void RenewLoop();

  KvBucket& bucket_;
  const SecureBytes fingerprint_key_;
  const SecureBytes previous_fingerprint_key_;  // empty: no master-key rotation under way
  const Timing timing_;

  struct Held {
    std::string record_key, fingerprint;
    uint64_t revision = 0;                          // of the latest write of the claim that landed
    std::chrono::steady_clock::time_point written;  // when that write was sent
    std::chrono::steady_clock::time_point since;    // when the claim was taken
  };
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::map<std::string, Held> held_;  // running requests' claims, by holder id
  std::thread renewer_;
};

}  // namespace ironflow::server
