// NatsConnection: one client connection to NATS (and its JetStream context), reconnecting on its own.
//
// Owns the natsConnection/jsCtx pair; KvBucket and SystemStream borrow it and must not outlive it. All methods
// are thread-safe (nats.c connections are). Errors come back as Status with the operation named; nats.c
// status codes never leak past src/store.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

typedef struct __natsConnection natsConnection;
typedef struct __jsCtx jsCtx;
typedef struct __natsSubscription natsSubscription;
typedef struct jsPubAckErr jsPubAckErr;

namespace ironflow::server {

class ReplyInboxes;
class RetiredHandles;

// Converts a nats.c status into a Status, naming the operation. Defined in nats_connection.cc.
Status StatusFromNats(int nats_status, std::string_view operation);

// nats.c's error text without the source location it starts with ("(jsm.c:1520): JetStream system temporarily
// unavailable" -> "JetStream system temporarily unavailable"): users see the error, not the library's internals.
std::string WithoutNatsSourceLocation(std::string_view text);
// The calling thread's last nats.c error text (see WithoutNatsSourceLocation); empty if none.
std::string LastNatsErrorText();

// Removes "user:password@" from each URL of a comma-separated NATS URL list.
std::string RedactNatsUrl(std::string_view url);
// The URLs of a comma-separated list, trimmed, empty entries dropped ("a, b,," -> {"a", "b"}).
std::vector<std::string> SplitNatsUrls(std::string_view urls);

// One message for PublishToStreamDurably.
struct StreamPublish {
  std::string subject;
  std::string data;
  std::string msg_id;         // Nats-Msg-Id (de-duplication); empty: a random one
  bool create_only = false;   // stored only if the subject has no message yet (a KV create)
  uint64_t expected_seq = 0;  // if not 0: stored only if the subject's last message is at this sequence (a KV CAS)
};

class NatsConnection {
 public:
  struct Options {
    // One URL or a comma-separated list: the first connect succeeds if any answers, and reconnects go through
    // the list and the peers the cluster advertises.
    std::string url;
    std::string name = "ironflow";
    int64_t connect_deadline_ms = 10000;  // keep retrying the first connect for this long
    int64_t request_timeout_ms = 5000;    // JetStream API/publish wait
    int64_t retire_grace_ms = 10000;      // how long unsubscribed handles are kept (store/retired_handles.h)
    // A secured NATS: TLS (CA to verify the server; client certificate and key for mutual TLS) and/or a
    // credentials file (JWT + NKey seed). Empty: not used.
    std::string tls_ca_file;
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string creds_file;
    // Called (on a nats.c thread) after each reconnect, once the connection is usable again.
    std::function<void()> on_reconnected;
  };
  // The server this connection is talking to now (empty fields while disconnected).
  struct ConnectedServer {
    std::string url;  // credentials removed
    std::string server_id;
  };

  // A subscription that stops delivering when destroyed: the destructor waits (up to 2 s each) for the messages
  // already received to be handled and for nats.c's last call. The callback is freed only after that last call.
  class Subscription {
   public:
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

    struct Delivery;  // the callback and its completion, shared with nats.c (defined in nats_connection.cc)

   private:
    friend class NatsConnection;
    Subscription() = default;
    natsSubscription* sub_ = nullptr;
    std::shared_ptr<Delivery> delivery_;
    std::shared_ptr<RetiredHandles> retired_;
  };

  static Result<std::unique_ptr<NatsConnection>> Connect(const Options& options);
  ~NatsConnection();
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  natsConnection* raw() const { return nc_; }
  jsCtx* js() const { return js_; }
  int64_t request_timeout_ms() const { return options_.request_timeout_ms; }
  bool connected() const;
  // Closes the connection now: every later call on it (and on watches and subscriptions over it) fails at once
  // instead of waiting out a reconnect. Used to shut down promptly when the NATS server is unreachable.
  void Close();
  uint64_t reconnects() const { return reconnects_.load(); }
  const std::string& redacted_url() const { return redacted_url_; }  // the configured list, credentials removed
  ConnectedServer connected_server() const;

  // An id (32 hex characters) no other message or write gets: this connection's random 64-bit prefix and a
  // 64-bit counter. Used for Nats-Msg-Id and for the tag of an untagged KV write (compared with a key's last
  // write however old it is, so the counter must not wrap). Drawing 12 bytes from the CSPRNG for each message
  // (as before) cost a getpid system call per message on OpenSSL 3 and about 2.5 % of the server's CPU under
  // load.
  std::string NewMessageId();

  // Core NATS publish (fire-and-forget, buffered during reconnects).
  Status Publish(std::string_view subject, std::string_view data);
  // JetStream publishes the caller needs stored before it answers (a run's records, its job and their audit
  // events; the audit events of acknowledged changes). All are sent at once (one round trip for the lot), each
  // with its Nats-Msg-Id; those not acknowledged — no responders during a leader election, no answer, an error
  // answer — are sent again after 250 ms, then with the wait doubling (at most 2 s), until `deadline_ms` has
  // passed. OK once every one is stored (a resent copy of a message that was stored after all is dropped by
  // JetStream's duplicate window), with each one's stream sequence in `sequences` (if given); kConflict if a
  // create-only message found its subject taken (not retried); kUnavailable otherwise.
  Status PublishToStreamDurably(const std::vector<StreamPublish>& messages, int64_t deadline_ms = 10000,
                                std::vector<uint64_t>* sequences = nullptr);
  // Sends every message at once and waits (up to the request timeout) for their answers, without retrying: per
  // message its stream sequence, kConflict if its condition (create_only, expected_seq) failed, kUnavailable if
  // its outcome is unknown (no answer, no responders, another error). For compare-and-set writes of several keys
  // in one round trip, each decided on its own.
  std::vector<Result<uint64_t>> PublishEachOnce(const std::vector<StreamPublish>& messages);
  // Messages PublishToStreamDurably had to send again (for /metrics).
  uint64_t stream_publish_retries() const { return stream_retries_.load(); }
  // Reply subscriptions reused across request rounds (store/reply_inboxes.h), for requests made by hand.
  ReplyInboxes& replies() { return *replies_; }
  // Where this connection's subscriptions go to be destroyed later (store/retired_handles.h).
  const std::shared_ptr<RetiredHandles>& retired() const { return retired_; }
  // Delivers every message on `subject` (wildcards allowed) to `callback` on a nats.c thread.
  Result<std::unique_ptr<Subscription>> Subscribe(
      const std::string& subject, std::function<void(std::string_view subject, std::string_view data)> callback);

 private:
  explicit NatsConnection(Options o);  // in the .cc: members of types only declared here
  // One round of PublishToStreamDurably / PublishEachOnce: sends messages[i] for each i in `indices` (with
  // Nats-Msg-Id ids[i]) and collects the answers for up to `wait_ms`.
  struct PublishAnswer {
    enum State { kNone, kStored, kRefused, kFailed } state = kNone;  // kRefused: its condition failed (10071)
    uint64_t seq = 0;
    std::string error;
  };
  std::vector<PublishAnswer> SendRound(const std::vector<StreamPublish>& messages, const std::vector<size_t>& indices,
                                       const std::vector<std::string>& ids, int64_t wait_ms);
  static void OnReconnected(natsConnection* nc, void* closure);
  static void OnDisconnected(natsConnection* nc, void* closure);
  static void OnClosed(natsConnection* nc, void* closure);

  Options options_;
  std::string redacted_url_;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  std::shared_ptr<RetiredHandles> retired_;  // made by the constructor
  std::unique_ptr<ReplyInboxes> replies_;    // destroyed before the connection
  std::atomic<uint64_t> reconnects_{0};
  // nats.c calls the connection callbacks on its own thread, after Close returns: the destructor waits for the
  // closed callback (the last one) before freeing what they touch.
  std::mutex closed_mu_;
  std::condition_variable closed_cv_;
  bool closed_ = false;
  mutable std::mutex last_server_mu_;
  ConnectedServer last_server_;  // for the disconnect log line (the connection no longer knows it then)
  std::atomic<uint64_t> stream_retries_{0};
  std::string message_id_prefix_;  // 16 hex characters, random (constructor)
  std::atomic<uint64_t> message_ids_{0};
};

}  // namespace ironflow::server
