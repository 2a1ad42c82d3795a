// KvWatch: follows every change of a KV bucket on a background thread and hands each entry to a callback
// (puts with their value; deletes and purges with an empty value and `deleted` set). It first replays the
// current value of every key (the latest entry of each, which may be a delete marker), then calls `on_caught_up`
// once, then every later change in order. Stops and joins in the destructor. Callbacks run on the watch thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"
#include "store/kv_bucket.h"

namespace ironflow {

class KvWatch {
 public:
  using Callback = std::function<void(const KvEntry& entry, bool deleted)>;
  struct Options {
    std::string filter = ">";             // keys to follow (NATS wildcards)
    std::function<void()> on_caught_up;   // after the replay of current values
  };
  static Result<std::unique_ptr<KvWatch>> Start(KvBucket& bucket, Callback callback);
  static Result<std::unique_ptr<KvWatch>> Start(KvBucket& bucket, Callback callback, Options options);
  ~KvWatch();

 private:
  KvWatch() = default;
  void Loop();
  void* watcher_ = nullptr;  // kvWatcher*
  Callback callback_;
  std::function<void()> on_caught_up_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ironflow
