// KvWatch: follows every change of a KV bucket and hands each entry to a callback (puts with their value;
// deletes and purges with an empty value and `deleted` set). It first replays the current value of every key (the
// latest entry of each, which may be a delete marker), then calls `on_caught_up` once, then every later change
// in order.
//
// A watch holds no thread of its own: it is a JetStream ordered push consumer whose messages nats.c's shared
// delivery pool hands to the callback, so thousands of open watches (one per SSE client) cost a consumer and a
// little memory each. Callbacks for one watch never run concurrently, and none runs once the destructor returns.
// If nats.c gives the subscription up on its own (a failed ordered-consumer reset during a failover), the watch
// subscribes again (a short-lived thread, retrying with growing pauses): the callback then sees the latest entry of
// every key again, as in the first replay, and callers apply entries by revision. A watch must be destroyed before
// its bucket's connection.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "store/kv_bucket.h"

namespace ironflow::server {

class KvWatch {
 public:
  using Callback = std::function<void(const KvEntry& entry, bool deleted)>;
  struct Options {
    std::string filter = ">";            // keys to follow (NATS wildcards)
    std::function<void()> on_caught_up;  // after the replay of current values
  };
  static Result<std::unique_ptr<KvWatch>> Start(KvBucket& bucket, Callback callback);
  static Result<std::unique_ptr<KvWatch>> Start(KvBucket& bucket, Callback callback, Options options);
  ~KvWatch();
  // Closes the subscription as nats.c does when it gives one up, so tests can see the watch recover.
  void SimulateLostSubscriptionForTest();
  KvWatch(const KvWatch&) = delete;
  KvWatch& operator=(const KvWatch&) = delete;

  struct State;  // shared with nats.c's delivery threads (defined in kv_watch.cc)

 private:
  KvWatch() = default;
  std::shared_ptr<State> state_;
};

}  // namespace ironflow::server
