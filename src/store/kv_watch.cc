#include "store/kv_watch.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "store/nats_handles.h"

namespace ironflow::server {

// What the delivery threads touch. Owned jointly by the KvWatch and by the subscription (through a heap-held
// shared_ptr that the completion callback frees), so a late delivery can never reach freed memory.
struct KvWatch::State {
  std::mutex mu;  // serialises callbacks, the caught-up signal and stopping
  std::condition_variable closed_cv;
  bool stopped = false;  // set by the destructor: no callback runs after it
  bool caught_up = false;
  bool closed = false;  // nats.c has called the completion callback: no delivery will follow
  // The thread running a callback right now (under mu): a callback whose effects destroy the watch (the last
  // reference to an SSE stream dropped inside it) must not wait for itself.
  std::atomic<std::thread::id> delivering{};
  // Replay accounting, as nats.c's own KV watcher does it: the first message says how many follow it; the replay
  // ends after that many more (or at a message with nothing pending), whatever arrives meanwhile.
  uint64_t received = 0;
  uint64_t replay_size = 0;
  std::string prefix;  // "$KV.<bucket>."
  Callback callback;
  std::function<void()> on_caught_up;

  void MarkCaughtUpLocked() {
    if (caught_up) return;
    caught_up = true;
    if (on_caught_up) on_caught_up();
  }
};

namespace {

using StateRef = std::shared_ptr<KvWatch::State>;

struct MetaFree {
  void operator()(jsMsgMetaData* p) const { jsMsgMetaData_Destroy(p); }
};
struct ConsumerInfoFree {
  void operator()(jsConsumerInfo* p) const { jsConsumerInfo_Destroy(p); }
};

void OnMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  nats::MsgPtr owned(msg);
  KvWatch::State& st = **static_cast<StateRef*>(closure);
  jsMsgMetaData* raw_meta = nullptr;
  if (natsMsg_GetMetaData(&raw_meta, msg) != NATS_OK) return;  // not a stream message
  std::unique_ptr<jsMsgMetaData, MetaFree> meta(raw_meta);
  std::lock_guard<std::mutex> lock(st.mu);
  if (st.stopped) return;
  st.delivering = std::this_thread::get_id();
  struct NotDelivering {
    KvWatch::State& st;
    ~NotDelivering() { st.delivering = std::thread::id(); }
  } not_delivering{st};
  if (!st.caught_up && st.received++ == 0) st.replay_size = meta->NumPending + 1;
  const std::string_view subject = natsMsg_GetSubject(msg);
  if (subject.size() > st.prefix.size() && subject.compare(0, st.prefix.size(), st.prefix) == 0) {
    KvEntry entry;
    entry.key = std::string(subject.substr(st.prefix.size()));
    entry.revision = meta->Sequence.Stream;
    entry.created_ns = meta->Timestamp;
    const char* operation = nullptr;  // "DEL" or "PURGE"; absent on a put
    const bool deleted = natsMsgHeader_Get(msg, "KV-Operation", &operation) == NATS_OK && operation != nullptr;
    if (!deleted) entry.value.assign(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
    st.callback(entry, deleted);
  }
  if (!st.stopped && (meta->NumPending == 0 || st.received >= st.replay_size)) st.MarkCaughtUpLocked();
}

void OnComplete(void* closure) {
  auto* ref = static_cast<StateRef*>(closure);
  {
    std::lock_guard<std::mutex> lock((*ref)->mu);
    (*ref)->closed = true;
  }
  (*ref)->closed_cv.notify_all();
  delete ref;
}

}  // namespace

Result<std::unique_ptr<KvWatch>> KvWatch::Start(KvBucket& bucket, Callback callback) {
  return Start(bucket, std::move(callback), Options{});
}

Result<std::unique_ptr<KvWatch>> KvWatch::Start(KvBucket& bucket, Callback callback, Options options) {
  std::unique_ptr<KvWatch> w(new KvWatch());
  w->state_ = std::make_shared<State>();
  w->state_->prefix = "$KV." + bucket.name() + ".";
  w->state_->callback = std::move(callback);
  w->state_->on_caught_up = std::move(options.on_caught_up);

  const std::string stream = "KV_" + bucket.name();
  const std::string subject = w->state_->prefix + options.filter;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream.c_str();
  so.Ordered = true;
  so.Config.DeliverPolicy = js_DeliverLastPerSubject;
  auto* ref = new StateRef(w->state_);  // the subscription's share; OnComplete frees it
  natsSubscription* sub = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_Subscribe(&sub, bucket.connection().js(), subject.c_str(), &OnMessage, ref, nullptr, &so, &err);
  if (s != NATS_OK) {
    delete ref;
    return StatusFromNats(s, "KV watch");
  }
  w->sub_ = sub;
  s = natsSubscription_SetOnCompleteCB(sub, &OnComplete, ref);
  if (s != NATS_OK) {
    // Closed already (the connection went away). A delivery may still be running with `ref`: stop it from calling
    // back and leave the subscription's share of the state alive (a one-off leak, never a dangling pointer).
    {
      std::lock_guard<std::mutex> lock(w->state_->mu);
      w->state_->stopped = true;
    }
    natsSubscription_Destroy(sub);
    w->sub_ = nullptr;
    return StatusFromNats(s, "KV watch");
  }

  // An empty replay sends nothing, so no message can say it ended: ask the consumer. It is caught up at once
  // when nothing matched and nothing was sent; otherwise the last replayed message says so (0 pending).
  jsConsumerInfo* raw_ci = nullptr;
  s = natsSubscription_GetConsumerInfo(&raw_ci, sub, nullptr, &err);
  std::unique_ptr<jsConsumerInfo, ConsumerInfoFree> ci(raw_ci);
  if (s != NATS_OK) return StatusFromNats(s, "KV watch");  // the destructor closes the subscription
  if (ci->NumPending == 0 && ci->Delivered.Consumer == 0) {
    std::lock_guard<std::mutex> lock(w->state_->mu);
    w->state_->MarkCaughtUpLocked();
  }
  return w;
}

KvWatch::~KvWatch() {
  if (sub_ == nullptr) return;
  auto* sub = static_cast<natsSubscription*>(sub_);
  if (state_->delivering.load() == std::this_thread::get_id()) {
    // Destroyed from inside one of its own callbacks, which holds `mu`: stop without waiting for ourselves. The
    // callback returns into state the subscription still holds a share of.
    state_->stopped = true;
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(state_->mu);  // waits for a callback in progress
    state_->stopped = true;
  }
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  // The completion callback frees the subscription's share of the state; wait a little for it, so nothing is
  // left behind when the process exits right after (the state is safe either way).
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->closed_cv.wait_for(lock, std::chrono::seconds(2), [this] { return state_->closed; });
}

}  // namespace ironflow::server
