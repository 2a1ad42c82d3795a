#include "store/retired_handles.h"

#include <nats/nats.h>

#include <utility>
#include <vector>

namespace ironflow::server {
namespace {

void DestroySubscription(void* p) { natsSubscription_Destroy(static_cast<natsSubscription*>(p)); }
void DestroyWatcher(void* p) { kvWatcher_Destroy(static_cast<kvWatcher*>(p)); }

}  // namespace

RetiredHandles::RetiredHandles(int64_t grace_ms)
    : grace_(std::chrono::milliseconds(grace_ms)), now_(&Clock::now), sweeper_([this] { SweepLoop(); }) {}

RetiredHandles::RetiredHandles(int64_t grace_ms, std::function<Clock::time_point()> now)
    : grace_(std::chrono::milliseconds(grace_ms)), now_(std::move(now)) {}

RetiredHandles::~RetiredHandles() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
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
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    first = kept_.empty();
    kept_.push_back(Entry{now, handle, destroy});
  }
  if (first) wake_.notify_all();  // the sweeper sleeps without a deadline while nothing is kept
}

void RetiredHandles::Sweep() {
  std::vector<Entry> due;
  {
    const Clock::time_point now = now_();
    std::lock_guard<std::mutex> lock(mu_);
    while (!kept_.empty() && now - kept_.front().retired >= grace_) {
      due.push_back(kept_.front());
      kept_.pop_front();
    }
  }
  for (const Entry& e : due) e.destroy(e.handle);  // outside the lock: a destroy may take nats.c's locks
}

void RetiredHandles::SweepLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (kept_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const Clock::time_point due_at = kept_.front().retired + grace_;
    if (wake_.wait_until(lock, due_at, [&] { return stopping_; })) break;
    lock.unlock();
    Sweep();
    lock.lock();
  }
}

size_t RetiredHandles::kept() const {
  std::lock_guard<std::mutex> lock(mu_);
  return kept_.size();
}

}  // namespace ironflow::server
