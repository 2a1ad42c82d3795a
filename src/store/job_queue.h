// JobQueue: the JetStream work queue that hands each job to exactly one taker.
//
// Stream IRONFLOW_JOBS (work-queue retention, file storage, the system buckets' replicas) holds one message per
// job on `ironflow.jobq.<queue>`, where a queue is "<environment>.<function id>". Each queue has one durable pull
// consumer `jobq_<environment>_<function id>` (nats-server 2.9 allows one filter subject per consumer; the
// environment has no '_', so the name is unambiguous). JetStream gives a fetched message to one fetcher until it
// is acknowledged or its AckWait passes without an in-progress ack; that is the lease. Acknowledgements go to
// the message's reply subject, so any process on the same NATS can settle a message another process fetched.
//
// A consumer without a leader: nats-server 2.9.10 can leave a replicated consumer leaderless for good after the
// JetStream meta leader's node is lost and comes back (ClusterTest saw minutes; the stream itself had a leader).
// Pull requests to it go unanswered. When a queue's fetches have gone unanswered (timeout, or no responders) for
// kLeaderlessAfterMs and the consumer still reports no leader while the stream answers, Fetch deletes the consumer
// and makes it again (at most once per kRecreateEveryMs per queue, logged and counted) and fetches from the new one
// at once: it delivers every job still in the stream, so a leased job comes back as after a lost lease (its run
// record decides). Consumer and stream info are asked with a 2 s wait, so a poll meeting a leaderless consumer
// is held that long, not for the whole request timeout.
//
// Messages carry references chosen by the caller (never secret values). Publishing uses Nats-Msg-Id, so the
// same job enqueued twice within the duplicate window (2 minutes) is stored once. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/nats_connection.h"

typedef struct jsConsumerConfig jsConsumerConfig;  // nats.h

namespace ironflow::server {

struct FetchedJob {
  std::string data;         // the payload given to Enqueue
  std::string ack_subject;  // the message's reply subject: settle it with Ack/Nak/Term/InProgress
  uint64_t delivered = 0;   // JetStream's delivery count (1 on the first delivery)
  uint64_t stream_seq = 0;
};

class JobQueue {
 public:
  static constexpr std::string_view kStream = "IRONFLOW_JOBS";
  static constexpr std::string_view kSubjectPrefix = "ironflow.jobq.";

  // Creates the stream if needed. `ack_wait_ms` is each consumer's AckWait: how long a fetched message stays
  // with its fetcher without an in-progress ack (the backstop when the fetching process dies).
  static Result<std::unique_ptr<JobQueue>> Open(NatsConnection& nc, int replicas, int64_t ack_wait_ms);
  ~JobQueue();

  // "<environment>.<function id>" (both already validated: subject tokens without dots or wildcards).
  static std::string QueueName(const std::string& env, const std::string& function_id) {
    return env + "." + function_id;
  }

  // Stores one job; `msg_id` de-duplicates within the stream's window. Waits for JetStream's ack.
  Status Enqueue(const std::string& queue, const std::string& msg_id, std::string_view data);
  // The message Enqueue stores, for a caller that stores it together with others.
  static StreamPublish JobMessage(const std::string& queue, const std::string& msg_id, std::string data) {
    return StreamPublish{std::string(kSubjectPrefix) + queue, std::move(data), msg_id, false};
  }
  // Up to `batch` jobs of `queue` available now (never waits for new ones). Creates the queue's consumer on first
  // use. Concurrent callers on one queue each get different messages.
  Result<std::vector<FetchedJob>> Fetch(const std::string& queue, int batch);

  // Settling a fetched message, from any process. Fire-and-forget: if one is lost, the message comes back after
  // AckWait and the caller's own records decide what to do with it.
  Status Ack(const std::string& ack_subject);
  Status Nak(const std::string& ack_subject, int64_t delay_ms);  // redeliver after `delay_ms`
  Status Term(const std::string& ack_subject);                   // never redeliver
  Status InProgress(const std::string& ack_subject);             // restart the AckWait clock

  // The durable pull consumer a queue gets: EnsureConsumer creates it from this, and keeps an existing one that
  // agrees on AckWait and MaxAckPending (a test can make one with other replicas that the server then uses).
  struct ConsumerSpec {
    std::string durable, filter;
    int64_t ack_wait_ms = 0;
    jsConsumerConfig Config() const;  // points into this spec, which must outlive it
  };
  static ConsumerSpec ConsumerFor(const std::string& queue, int64_t ack_wait_ms);

  int64_t ack_wait_ms() const { return ack_wait_ms_; }
  // Consumers this process found without a leader and made again (see the header comment).
  uint64_t consumers_recreated() const { return recreated_.load(); }
  static constexpr int64_t kLeaderlessAfterMs = 10000;
  static constexpr int64_t kRecreateEveryMs = 30000;
  // NAK-delayed retries and leased jobs both count against MaxAckPending: kept far above any queue's depth of
  // jobs in flight, so a backlog of delayed retries never stops fresh jobs from being delivered.
  static constexpr int64_t kMaxAckPending = 100000;

  // Jobs stored per queue (QueueName's two parts): waiting, in their retry backoff, or leased and not yet
  // settled. Queues without jobs are absent. One stream-info request.
  struct Depth {
    std::string environment, function_id;
    uint64_t jobs = 0;
  };
  Result<std::vector<Depth>> Depths();

 private:
  JobQueue(NatsConnection& nc, int64_t ack_wait_ms) : nc_(nc), ack_wait_ms_(ack_wait_ms) {}
  // Creates the queue's consumer (or brings its AckWait in line) the first time this process uses the queue.
  Status EnsureConsumerOnce(const std::string& queue);
  Status EnsureConsumer(const std::string& queue);
  Status Settle(const std::string& ack_subject, std::string_view body);
  // Whether the leader of the queue's consumer answered a fetch; after kLeaderlessAfterMs of silence, one caller
  // checks the consumer and makes it again if it has no leader. True when this call made it again (its jobs
  // can be fetched at once; at most once per kRecreateEveryMs, so a caller fetching again cannot loop).
  bool NoteFetchAnswered(const std::string& queue, bool answered);
  Result<bool> RecreateIfLeaderless(const std::string& queue);  // true: made again

  NatsConnection& nc_;
  const int64_t ack_wait_ms_;
  std::mutex mu_;
  std::set<std::string> ensured_;  // queues whose consumer this process has made sure of
  struct Silence {
    std::chrono::steady_clock::time_point since;                   // first unanswered fetch since the last answer
    std::optional<std::chrono::steady_clock::time_point> checked;  // last leader check, if any
  };
  std::map<std::string, Silence> silent_;  // queues whose latest fetches went unanswered
  std::atomic<uint64_t> recreated_{0};
};

}  // namespace ironflow::server
