#include "store/kv_watch.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "store/nats_handles.h"
#include "store/retired_handles.h"

namespace ironflow::server {

// What the delivery threads touch. Owned jointly by the KvWatch, by each subscription (through a heap-held
// closure that its completion callback frees) and by a resubscribing thread, so a late delivery can never reach
// freed memory.
struct KvWatch::State {
  std::mutex mu;                 // serialises callbacks, the caught-up signal, resubscribing and stopping
  std::condition_variable wake;  // closed, stopped, or a resubscriber finished
  bool stopped = false;          // set by the destructor: no callback runs after it
  bool caught_up = false;
  bool closed = false;  // nats.c has called the current subscription's completion callback
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

  // The subscription, and what it takes to make it again if nats.c drops it on its own (a failed ordered-consumer
  // reset unsubscribes it: store/nats_detach_guard.h). `generation` numbers the subscriptions: deliveries and the
  // completion of an older one are ignored.
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  std::shared_ptr<RetiredHandles> retired;  // destroys subscriptions given up (store/retired_handles.h)
  std::string stream;
  std::string subject;
  natsSubscription* sub = nullptr;
  uint64_t generation = 0;
  int resubscribers = 0;  // threads making a new subscription; the destructor waits for them

  void MarkCaughtUpLocked() {
    if (caught_up) return;
    caught_up = true;
    if (on_caught_up) on_caught_up();
  }
};

namespace {

using StateRef = std::shared_ptr<KvWatch::State>;

// The closure of one subscription: freed by its completion callback.
struct SubscriptionRef {
  StateRef state;
  uint64_t generation = 0;
};

struct MetaFree {
  void operator()(jsMsgMetaData* p) const { jsMsgMetaData_Destroy(p); }
};
struct ConsumerInfoFree {
  void operator()(jsConsumerInfo* p) const { jsConsumerInfo_Destroy(p); }
};

void OnMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  nats::MsgPtr owned(msg);
  const auto& ref = *static_cast<SubscriptionRef*>(closure);
  KvWatch::State& st = *ref.state;
  jsMsgMetaData* raw_meta = nullptr;
  if (natsMsg_GetMetaData(&raw_meta, msg) != NATS_OK) return;  // not a stream message
  std::unique_ptr<jsMsgMetaData, MetaFree> meta(raw_meta);
  std::lock_guard<std::mutex> lock(st.mu);
  if (st.stopped || ref.generation != st.generation) return;
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

void Resubscribe(StateRef st);

void OnComplete(void* closure) {
  std::unique_ptr<SubscriptionRef> ref(static_cast<SubscriptionRef*>(closure));
  KvWatch::State& st = *ref->state;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    if (ref->generation != st.generation) return;  // an older subscription, already replaced
    st.closed = true;
    if (!st.stopped) {
      // Closed without the destructor asking: nats.c gave the subscription up. Make a new one, on a thread of
      // its own (this may be one of nats.c's, which must not block on a JetStream request).
      ++st.resubscribers;
      std::thread(Resubscribe, ref->state).detach();
    }
  }
  st.wake.notify_all();
}

// Subscribes (again) to the state's subject as an ordered consumer that first replays the latest entry of every
// key. The previous subscription, if any, is left to the caller.
natsStatus Subscribe(KvWatch::State& st, uint64_t generation, const StateRef& share, natsSubscription** sub) {
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = st.stream.c_str();
  so.Ordered = true;
  so.Config.DeliverPolicy = js_DeliverLastPerSubject;
  auto* ref = new SubscriptionRef{share, generation};
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_Subscribe(sub, st.js, st.subject.c_str(), &OnMessage, ref, nullptr, &so, &err);
  if (s != NATS_OK) {
    delete ref;
    return s;
  }
  s = natsSubscription_SetOnCompleteCB(*sub, &OnComplete, ref);
  if (s != NATS_OK) {
    // Closed already (the connection went away). A delivery may still be running with `ref`: it is stale by its
    // generation once the caller moves on, and `ref` is left alive (a one-off leak, never a dangling pointer).
    st.retired->RetireSubscription(*sub);
    *sub = nullptr;
  }
  return s;
}

// After nats.c dropped the subscription: a new one, tried with growing pauses until it is made or the watch stops.
// The replay hands every key's latest entry to the callback again (owners apply entries by revision).
void Resubscribe(StateRef st) {
  spdlog::warn("KV watch on {} lost its subscription; subscribing again", st->stream);
  auto pause = std::chrono::milliseconds(250);
  for (;;) {
    uint64_t generation = 0;
    {
      std::lock_guard<std::mutex> lock(st->mu);
      if (st->stopped) break;
      if (natsConnection_IsClosed(st->nc)) {  // shutting down: nothing to follow any more
        spdlog::info("KV watch on {} not subscribed again: the NATS connection is closed", st->stream);
        break;
      }
      generation = ++st->generation;  // from here, the old subscription's late deliveries are ignored
      if (!st->caught_up) st->received = 0;
    }
    natsSubscription* sub = nullptr;
    natsStatus s = Subscribe(*st, generation, st, &sub);
    if (s == NATS_OK) {
      natsSubscription* old = nullptr;
      {
        std::lock_guard<std::mutex> lock(st->mu);
        if (!st->stopped) {
          old = st->sub;
          st->sub = sub;
          st->closed = false;
          sub = nullptr;
        }
      }
      if (sub != nullptr) st->retired->RetireSubscription(sub);  // stopped meanwhile: this one is not wanted
      if (old != nullptr) st->retired->RetireSubscription(old);
      spdlog::info("KV watch on {} subscribed again", st->stream);
      break;
    }
    std::unique_lock<std::mutex> lock(st->mu);
    if (st->wake.wait_for(lock, pause, [&] { return st->stopped; })) break;
    pause = std::min(pause * 2, std::chrono::milliseconds(5000));
  }
  {
    std::lock_guard<std::mutex> lock(st->mu);
    --st->resubscribers;
  }
  st->wake.notify_all();
}

}  // namespace

Result<std::unique_ptr<KvWatch>> KvWatch::Start(KvBucket& bucket, Callback callback) {
  return Start(bucket, std::move(callback), Options{});
}

Result<std::unique_ptr<KvWatch>> KvWatch::Start(KvBucket& bucket, Callback callback, Options options) {
  std::unique_ptr<KvWatch> w(new KvWatch());
  w->state_ = std::make_shared<State>();
  State& st = *w->state_;
  st.prefix = "$KV." + bucket.name() + ".";
  st.callback = std::move(callback);
  st.on_caught_up = std::move(options.on_caught_up);
  st.nc = bucket.connection().raw();
  st.js = bucket.connection().js();
  st.retired = bucket.connection().retired();
  st.stream = "KV_" + bucket.name();
  st.subject = st.prefix + options.filter;

  natsSubscription* sub = nullptr;
  natsStatus s = Subscribe(st, /*generation=*/0, w->state_, &sub);
  if (s != NATS_OK) {
    std::lock_guard<std::mutex> lock(st.mu);
    st.stopped = true;  // a delivery that raced a failed setup calls nothing back
    return StatusFromNats(s, "KV watch");
  }
  {
    std::lock_guard<std::mutex> lock(st.mu);
    st.sub = sub;
  }
  // An empty replay sends nothing, so no message can say it ended: ask the consumer. It is caught up at once
  // when nothing matched and nothing was sent; otherwise the last replayed message says so (0 pending).
  jsConsumerInfo* raw_ci = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  s = natsSubscription_GetConsumerInfo(&raw_ci, sub, nullptr, &err);
  std::unique_ptr<jsConsumerInfo, ConsumerInfoFree> ci(raw_ci);
  if (s != NATS_OK) return StatusFromNats(s, "KV watch");  // the destructor closes the subscription
  if (ci->NumPending == 0 && ci->Delivered.Consumer == 0) {
    std::lock_guard<std::mutex> lock(st.mu);
    st.MarkCaughtUpLocked();
  }
  return w;
}

void KvWatch::SimulateLostSubscriptionForTest() {
  natsSubscription* sub = nullptr;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    sub = state_->sub;
  }
  if (sub != nullptr) natsSubscription_Unsubscribe(sub);  // what nats.c does after a failed reset
}

KvWatch::~KvWatch() {
  if (state_ == nullptr) return;
  State& st = *state_;
  if (st.delivering.load() == std::this_thread::get_id()) {
    // Destroyed from inside one of its own callbacks, which holds `mu`: stop without waiting for ourselves. The
    // callback returns into state the subscription still holds a share of; a resubscriber sees `stopped` and
    // drops what it makes.
    st.stopped = true;
    natsSubscription* sub = st.sub;
    st.sub = nullptr;
    if (sub != nullptr) st.retired->RetireSubscription(sub);
    return;
  }
  natsSubscription* sub = nullptr;
  {
    std::unique_lock<std::mutex> lock(st.mu);  // waits for a callback in progress
    st.stopped = true;
    sub = st.sub;
    st.sub = nullptr;
  }
  st.wake.notify_all();
  {
    // A resubscriber uses the connection's JetStream context: it must be done before the owner can close it.
    std::unique_lock<std::mutex> lock(st.mu);
    st.wake.wait(lock, [&] { return st.resubscribers == 0; });
  }
  if (sub == nullptr) return;
  st.retired->RetireSubscription(sub);
  // The completion callback frees the subscription's closure; wait a little for it, so nothing is left behind when
  // the process exits right after (the state is safe either way).
  std::unique_lock<std::mutex> lock(st.mu);
  st.wake.wait_for(lock, std::chrono::seconds(2), [&] { return st.closed; });
}

}  // namespace ironflow::server
