// RAII owners for nats.c handles. Every nats.c object used by Ironflow is held in exactly one of these;
// nothing else calls a *_Destroy function. Subscriptions and KV watchers are unsubscribed at once but destroyed
// later, through their connection's RetiredHandles (store/retired_handles.h: a use-after-free in nats.c 3.4.1).
// Include only from src/store.
#pragma once

#include <nats/nats.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "store/retired_handles.h"

namespace ironflow::server::nats {

struct OptionsFree {
  void operator()(natsOptions* p) const { natsOptions_Destroy(p); }
};
struct ConnectionFree {
  void operator()(natsConnection* p) const {
    natsConnection_Close(p);
    natsConnection_Destroy(p);
  }
};
struct JsCtxFree {
  void operator()(jsCtx* p) const { jsCtx_Destroy(p); }
};
struct KvStoreFree {
  void operator()(kvStore* p) const { kvStore_Destroy(p); }
};
struct KvEntryFree {
  void operator()(kvEntry* p) const { kvEntry_Destroy(p); }
};
// Stops the watcher now; RetiredHandles destroys it later. Made by OwnWatcher only: one without `retired` (built
// from a raw pointer) would bring the use-after-free back, so it stops the process instead.
struct KvWatcherFree {
  std::shared_ptr<RetiredHandles> retired;
  void operator()(kvWatcher* p) const {
    if (!retired) std::abort();
    retired->RetireWatcher(p);
  }
};
struct KvStatusFree {
  void operator()(kvStatus* p) const { kvStatus_Destroy(p); }
};
// Unsubscribes now; RetiredHandles destroys the subscription later. Made by OwnSubscription only (as above).
struct SubscriptionFree {
  std::shared_ptr<RetiredHandles> retired;
  void operator()(natsSubscription* p) const {
    if (!retired) std::abort();
    retired->RetireSubscription(p);
  }
};
struct MsgFree {
  void operator()(natsMsg* p) const { natsMsg_Destroy(p); }
};
struct PubAckFree {
  void operator()(jsPubAck* p) const { jsPubAck_Destroy(p); }
};
struct StreamInfoFree {
  void operator()(jsStreamInfo* p) const { jsStreamInfo_Destroy(p); }
};
struct StreamNamesFree {
  void operator()(jsStreamNamesList* p) const { jsStreamNamesList_Destroy(p); }
};

using OptionsPtr = std::unique_ptr<natsOptions, OptionsFree>;
using ConnectionPtr = std::unique_ptr<natsConnection, ConnectionFree>;
using JsCtxPtr = std::unique_ptr<jsCtx, JsCtxFree>;
using KvStorePtr = std::unique_ptr<kvStore, KvStoreFree>;
using KvEntryPtr = std::unique_ptr<kvEntry, KvEntryFree>;
using KvWatcherPtr = std::unique_ptr<kvWatcher, KvWatcherFree>;
using KvStatusPtr = std::unique_ptr<kvStatus, KvStatusFree>;
using SubscriptionPtr = std::unique_ptr<natsSubscription, SubscriptionFree>;
using MsgPtr = std::unique_ptr<natsMsg, MsgFree>;
using PubAckPtr = std::unique_ptr<jsPubAck, PubAckFree>;
using StreamInfoPtr = std::unique_ptr<jsStreamInfo, StreamInfoFree>;
using StreamNamesPtr = std::unique_ptr<jsStreamNamesList, StreamNamesFree>;

// Owners of a subscription or watcher that `retired` will destroy.
inline SubscriptionPtr OwnSubscription(natsSubscription* sub, std::shared_ptr<RetiredHandles> retired) {
  return SubscriptionPtr(sub, SubscriptionFree{std::move(retired)});
}
inline KvWatcherPtr OwnWatcher(kvWatcher* watcher, std::shared_ptr<RetiredHandles> retired) {
  return KvWatcherPtr(watcher, KvWatcherFree{std::move(retired)});
}

// A synchronous subscription to `subject`.
inline natsStatus SubscribeSync(natsConnection* nc, const std::string& subject,
                                const std::shared_ptr<RetiredHandles>& retired, SubscriptionPtr* sub) {
  natsSubscription* raw_sub = nullptr;
  natsStatus s = natsConnection_SubscribeSync(&raw_sub, nc, subject.c_str());
  *sub = OwnSubscription(raw_sub, retired);
  return s;
}

// A synchronous subscription on a fresh inbox, to `<inbox><suffix>` (e.g. "" for the inbox itself, ".>" for every
// subject under it): where the answers to requests made by hand arrive. Sets `inbox` (the subject prefix) and `sub`.
inline natsStatus SubscribeNewInbox(natsConnection* nc, const char* suffix,
                                    const std::shared_ptr<RetiredHandles>& retired, std::string* inbox,
                                    SubscriptionPtr* sub) {
  natsInbox* raw_inbox = nullptr;
  natsStatus s = natsInbox_Create(&raw_inbox);
  if (s != NATS_OK) return s;
  *inbox = raw_inbox;
  natsInbox_Destroy(raw_inbox);
  return SubscribeSync(nc, *inbox + suffix, retired, sub);
}

}  // namespace ironflow::server::nats
