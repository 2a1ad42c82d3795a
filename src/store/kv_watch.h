// KvWatch: follows every change of a KV bucket on a background thread and hands each entry to a callback
// (puts with their value; deletes and purges with an empty value and `deleted` set). It first replays the
// current value of every key. Stops and joins in the destructor. The callback runs on the watch thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "common/status.h"
#include "store/kv_bucket.h"

namespace ironflow {

class KvWatch {
 public:
  using Callback = std::function<void(const KvEntry& entry, bool deleted)>;
  static Result<std::unique_ptr<KvWatch>> Start(KvBucket& bucket, Callback callback);
  ~KvWatch();

 private:
  KvWatch() = default;
  void Loop();
  void* watcher_ = nullptr;  // kvWatcher*
  Callback callback_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ironflow
