#include "store/kv_watch.h"

#include <chrono>

#include "store/nats_handles.h"

namespace ironflow {

Result<std::unique_ptr<KvWatch>> KvWatch::Start(KvBucket& bucket, Callback callback) {
  return Start(bucket, std::move(callback), Options{});
}

Result<std::unique_ptr<KvWatch>> KvWatch::Start(KvBucket& bucket, Callback callback, Options options) {
  std::unique_ptr<KvWatch> w(new KvWatch());
  w->callback_ = std::move(callback);
  w->on_caught_up_ = std::move(options.on_caught_up);
  kvWatcher* raw = nullptr;
  natsStatus s = kvStore_Watch(&raw, bucket.raw(), options.filter.c_str(), nullptr);
  if (s != NATS_OK) return StatusFromNats(s, "KV watch");
  w->watcher_ = raw;
  w->thread_ = std::thread([p = w.get()] { p->Loop(); });
  return w;
}

void KvWatch::Loop() {
  auto* watcher = static_cast<kvWatcher*>(watcher_);
  while (!stop_.load()) {
    kvEntry* raw = nullptr;
    natsStatus s = kvWatcher_Next(&raw, watcher, 500);
    if (s == NATS_TIMEOUT) continue;
    if (s != NATS_OK) {
      if (stop_.load() || s == NATS_ILLEGAL_STATE) return;
      // An error that returns at once (e.g. while NATS reconnects) must not turn this loop into a busy spin.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (raw == nullptr) {  // end of the initial replay
      if (on_caught_up_) on_caught_up_();
      continue;
    }
    nats::KvEntryPtr e(raw);
    KvEntry entry;
    entry.key = kvEntry_Key(raw);
    entry.revision = kvEntry_Revision(raw);
    entry.created_ns = kvEntry_Created(raw);
    const bool deleted = kvEntry_Operation(raw) != kvOp_Put;
    if (!deleted) entry.value.assign(static_cast<const char*>(kvEntry_Value(raw)), static_cast<size_t>(kvEntry_ValueLen(raw)));
    callback_(entry, deleted);
  }
}

KvWatch::~KvWatch() {
  stop_ = true;
  if (watcher_) kvWatcher_Stop(static_cast<kvWatcher*>(watcher_));
  if (thread_.joinable()) thread_.join();
  if (watcher_) kvWatcher_Destroy(static_cast<kvWatcher*>(watcher_));
}

}  // namespace ironflow
