#include "store/retired_handles.h"

#include <nats/nats.h>

#include <utility>
#include <vector>

namespace ironflow::server {
namespace {

void DestroySubscription(void* p) { natsSubscription_Destroy(static_cast<natsSubscription*>(p)); }
void DestroyWatcher(void* p) { kvWatcher_Destroy(static_cast<kvWatcher*>(p)); }

}  // namespace

RetiredHandles::RetiredHandles(int64_t grace_ms, std::function<Clock::time_point()> now)
    : grace_(std::chrono::milliseconds(grace_ms)), now_(std::move(now)) {}

RetiredHandles::~RetiredHandles() {
  for (const Entry& e : kept_) e.destroy(e.handle);
}

void RetiredHandles::RetireSubscription(natsSubscription* sub) {
  if (sub == nullptr) return;
  natsSubscription_Unsubscribe(sub);  // fails harmlessly if it is closed already (drained, or given up by nats.c)
  Retire(sub, &DestroySubscription);
}

void RetiredHandles::RetireWatcher(kvWatcher* watcher) {
  if (watcher == nullptr) return;
  kvWatcher_Stop(watcher);
  Retire(watcher, &DestroyWatcher);
}

void RetiredHandles::Retire(void* handle, void (*destroy)(void*)) {
  const Clock::time_point now = now_();
  std::vector<Entry> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!kept_.empty() && now - kept_.front().retired >= grace_) {
      due.push_back(kept_.front());
      kept_.pop_front();
    }
    kept_.push_back(Entry{now, handle, destroy});
  }
  for (const Entry& e : due) e.destroy(e.handle);  // outside the lock: a destroy may take nats.c's locks
}

size_t RetiredHandles::kept() const {
  std::lock_guard<std::mutex> lock(mu_);
  return kept_.size();
}

}  // namespace ironflow::server
