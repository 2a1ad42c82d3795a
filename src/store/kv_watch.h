// KvWatch: follows every change of a KV bucket and hands each entry to a callback (puts with their value;
// deletes and purges with an empty value and `deleted` set). It first replays the current value of every key (the
// latest entry of each, which may be a delete marker), then calls `on_caught_up` once, then every later change
// in order.
//
// A watch holds no thread of its own: it is a JetStream ordered push consumer whose messages nats.c's shared
// delivery pool hands to the callback, so thousands of open watches (one per SSE client) cost a consumer and a
// little memory each. Callbacks for one watch never run concurrently, and none runs once the destructor returns.
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
  KvWatch(const KvWatch&) = delete;
  KvWatch& operator=(const KvWatch&) = delete;

  struct State;  // shared with nats.c's delivery threads (defined in kv_watch.cc)

 private:
  KvWatch() = default;
  std::shared_ptr<State> state_;
  void* sub_ = nullptr;  // natsSubscription*
};

}  // namespace ironflow::server
