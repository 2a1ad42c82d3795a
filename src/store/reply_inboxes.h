// ReplyInboxes: reusable reply subscriptions for requests made by hand (a batch of stream publishes answered one by
// one), so that a request round costs no SUB and UNSUB.
//
// A fresh inbox per round cost two more writes on the socket and a change to nats-server's subscription table
// each time, two or three times per run (docs/benchmarks.md). Only for answers addressed to the reply subject:
// JetStream delivers a consumer's messages under their own subjects, so job fetches (JobQueue::Fetch) keep an
// inbox per call.
//
// Each subscription listens on `<inbox>.>` and is used by one round at a time; a round gets a prefix of its own,
// `<inbox>.<n>`, and its replies must be addressed to `<prefix>.<anything>`. Next() returns only those: an answer to an
// earlier round that comes after that round stopped waiting is dropped, never taken for this round's. A round's
// subscription goes back to the pool when the round ends (at most kMaxIdle are kept), unless a wait on it failed for
// another reason than a timeout (the connection closed, ...): then it is destroyed.
//
// Thread-safe. Owned by its NatsConnection and destroyed before the connection is; rounds must end first.
// Include only from src/store.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "store/nats_handles.h"

namespace ironflow::server {

class ReplyInboxes {
 public:
  static constexpr size_t kMaxIdle = 64;

  // One request round's use of a pooled subscription. Movable; returns the subscription when destroyed.
  class Round {
   public:
    Round() = default;
    Round(Round&& other) noexcept;
    Round& operator=(Round&& other) noexcept;
    ~Round();

    // Replies of this round are addressed to `prefix() + "." + <anything>`.
    const std::string& prefix() const { return prefix_; }
    // The next reply of this round, waiting at most `timeout_ms`: NATS_OK with `*msg` set, NATS_TIMEOUT, or the
    // error that ended the wait.
    natsStatus Next(nats::MsgPtr* msg, int64_t timeout_ms);

   private:
    friend class ReplyInboxes;
    void Release();
    ReplyInboxes* owner_ = nullptr;
    nats::SubscriptionPtr sub_;
    std::string inbox_;
    std::string prefix_;
    bool broken_ = false;
  };

  ReplyInboxes(natsConnection* nc, std::shared_ptr<RetiredHandles> retired) : nc_(nc), retired_(std::move(retired)) {}
  ReplyInboxes(const ReplyInboxes&) = delete;
  ReplyInboxes& operator=(const ReplyInboxes&) = delete;

  // A round on an idle subscription, or on a new one if none is idle.
  natsStatus Begin(Round* round);
  // Subscriptions waiting for a round (for tests).
  size_t idle() const;

 private:
  struct Idle {
    nats::SubscriptionPtr sub;
    std::string inbox;
  };
  void Return(nats::SubscriptionPtr sub, std::string inbox);

  natsConnection* nc_;
  std::shared_ptr<RetiredHandles> retired_;  // destroys the subscriptions given up
  mutable std::mutex mu_;
  std::vector<Idle> idle_;
  uint64_t rounds_ = 0;
};

}  // namespace ironflow::server
