// RetiredHandles: destroys nats.c subscriptions (and the KV watchers built on them) a while after they are
// unsubscribed, never at once. A workaround for a use-after-free in nats.c 3.4.1, the version Debian 12 ships.
//
// nats.c's read loop looks an incoming message's subscription up under the connection's lock, releases the lock,
// and only then uses the subscription (locks it, counts the message, queues it) without holding a reference. An
// application that unsubscribes and destroys a subscription in that gap frees memory the read loop then writes:
// heap corruption, seen as "malloc(): unaligned fastbin chunk detected" aborts and general-protection faults at
// natsConn_processMsg+286 during the cluster test's failovers, where late answers keep arriving at inboxes whose
// waits just timed out (nats.c#637, fixed upstream by nats.c#638 in 2023). A stand-alone program that destroys a
// subscription right after unsubscribing it while messages flood in crashes within seconds; one that keeps them
// for a while does not (docs/decisions.md).
//
// Unsubscribing still happens at once (the subscription leaves the connection's table: nothing new reaches it); the
// handle itself is kept for the grace period (10 s) and then destroyed by a thread of this object, which sleeps
// while nothing is kept. The read loop holds a subscription only while it handles one message, far less than that.
//
// Thread-safe. Owned (shared) by a NatsConnection and by the deleters of the handles it keeps (nats_handles.h), so
// it outlives every handle retired into it; a handle may be destroyed after its connection (nats.c allows that).
// The destructor destroys what is still kept. Include only from src/store.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

typedef struct __natsSubscription natsSubscription;
typedef struct __kvWatcher kvWatcher;

namespace ironflow::server {

class RetiredHandles {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int64_t kGraceMs = 10000;

  // Destroys handles `grace_ms` after their retirement, on a thread of its own.
  explicit RetiredHandles(int64_t grace_ms = kGraceMs);
  // For tests: time comes from `now` and handles are destroyed only by Sweep calls (no thread).
  RetiredHandles(int64_t grace_ms, std::function<Clock::time_point()> now);
  ~RetiredHandles();
  RetiredHandles(const RetiredHandles&) = delete;
  RetiredHandles& operator=(const RetiredHandles&) = delete;

  // Unsubscribes `sub` (if it still is) now and destroys it after the grace period.
  void RetireSubscription(natsSubscription* sub);
  // Stops `watcher` (unsubscribing its subscription) now and destroys it after the grace period.
  void RetireWatcher(kvWatcher* watcher);
  // Any handle: `destroy(handle)` runs after the grace period. For the two above, and for tests.
  void Retire(void* handle, void (*destroy)(void*));
  // Destroys the handles whose grace period has ended (the thread's work; called by tests with an injected clock).
  void Sweep();

  size_t kept() const;  // handles not destroyed yet

 private:
  struct Entry {
    Clock::time_point retired;
    void* handle;
    void (*destroy)(void*);
  };
  void SweepLoop();

  const Clock::duration grace_;
  const std::function<Clock::time_point()> now_;
  mutable std::mutex mu_;
  std::condition_variable wake_;  // something retired, or stopping
  bool stopping_ = false;
  std::deque<Entry> kept_;  // in the order retired, so the oldest are at the front
  std::thread sweeper_;     // not started for an injected clock
};

}  // namespace ironflow::server
