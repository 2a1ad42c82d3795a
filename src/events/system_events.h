// SystemEvents: builds and publishes the `system.*` events of the management plane.
//
// Secret events go to `system.secret.{name}.{created|updated|deleted}` with payload
//   {"type":"secret.updated","environment","name","revision","actor":{"type","id","name"},"timestamp"}
// and never a value. Config events go to `system.config.{name}.{updated|deleted}` with the same payload shape
// (type "config.updated"/"config.deleted") and never the document.
//
// Durability: the event of a change is stored before the change is acknowledged. Each method below publishes and
// waits for IRONFLOW_SYSTEM's ack, retrying across a leader election for up to 10 s; if the event still cannot be
// stored it returns kUnavailable (and logs and counts it), and the caller answers 503 instead of acknowledging the
// change (which stays applied: the KV history remains the source of truth). Delivery events are built here and
// stored by the runtime together with the run's own events (one round trip). Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/request_tag.h"
#include "common/role.h"
#include "store/system_stream.h"

namespace ironflow::server {

struct Actor {
  std::string type;  // "apikey" or "dev"
  std::string id;
  std::string name;
  Role role = Role::kNone;  // the router denies kNone
  std::string environment;  // the environment the key is bound to (empty: all)
  // Worker and manager keys: the function ids and secret names the key may register, serve and receive, as
  // patterns (auth/allow_list.h). nullopt: no restriction (admin, reader, the dev actor).
  std::optional<std::vector<std::string>> function_patterns;
  std::optional<std::vector<std::string>> secret_patterns;
  // The request this actor is making, when it came with an Idempotency-Key: its writes carry the tag, and the
  // audit event of each change gets a de-duplication id derived from it, so a retry never stores it twice.
  RequestTag request;
};

enum class SecretChange { kCreated, kUpdated, kDeleted };
enum class ConfigChange { kUpdated, kDeleted };

class SystemEvents {
 public:
  explicit SystemEvents(SystemStream stream) : stream_(stream) {}

  // `repeat`: the change was made by an earlier attempt of the actor's request (found by a retry); its event is
  // sent again (stored once, by its de-duplication id, within JetStream's 2-minute window) and the listener is
  // not told a second time.
  Status SecretChanged(SecretChange change, std::string_view environment, std::string_view name, uint64_t revision,
                       const Actor& actor, bool repeat = false);
  Status ConfigChanged(ConfigChange change, std::string_view environment, std::string_view name, uint64_t revision,
                       const Actor& actor, bool repeat = false);
  // `system.<kind>.<name>.<verb>` for the other audited mutations: kind "environment" (created, deleted) and
  // "kv" (bucket created, deleted). Payload {type, environment, name, actor, timestamp}.
  Status Changed(std::string_view kind, std::string_view name, std::string_view verb, std::string_view environment,
                 const Actor& actor);
  // `system.apikey.<id>.{created|rotated|deleted}` (payload environment: the key's binding, or "*").
  Status ApiKeyChanged(std::string_view verb, std::string_view id, std::string_view environment, const Actor& actor);
  // `system.access.<NAME>.delivered`: one secret (never its value) went to a run's attempt. Payload adds the
  // revision delivered, the run, attempt and function, the pull worker or push URL, and the API key that leased
  // it (`actor`).
  struct SecretDelivery {
    std::string name;
    uint64_t revision = 0;
    std::string run_id;
    int attempt = 0;
    std::string function_id;
    std::string worker_id;  // pull mode
    std::string push_url;   // push mode
  };
  StreamPublish SecretDelivered(std::string_view environment, const SecretDelivery& delivery, const Actor& actor);
  // Stores events built by the caller (e.g. SecretDelivered) as the methods above do.
  Status PublishAll(const std::vector<StreamPublish>& messages);
  // `system.rekey.<environment|all>.completed` with the counts of a master-key rotation run.
  Status RekeyCompleted(std::string_view scope, std::string_view key_id, int rekeyed, int already_current, int failed,
                        const Actor& actor);
  // Called after each event this process publishes (the runtime uses it to trigger functions). Set once, before
  // serving.
  using Listener = std::function<void(const std::string& env, const std::string& subject, const std::string& payload)>;
  void SetListener(Listener listener) { listener_ = std::move(listener); }
  uint64_t publish_failures() const { return failures_.load(); }

 private:
  Status Publish(std::string_view kind, std::string_view verb, std::string_view environment, std::string_view name,
                 uint64_t revision, const Actor& actor, bool repeat);
  // Stores one event (waiting for its ack), counts and logs a failure; the listener (runtime triggers) only hears
  // secret and config changes.
  // `msg_id`: the de-duplication id (empty: a random one).
  Status Send(const std::string& subject, std::string_view environment, const std::string& payload,
              bool notify_listener, std::string msg_id = "");
  SystemStream stream_;
  Listener listener_;
  std::atomic<uint64_t> failures_{0};
};

}  // namespace ironflow::server
