// RAII owners for nats.c handles. Every nats.c object used by Ironflow is held in exactly one of these;
// nothing else calls a *_Destroy function. Include only from src/store.
#pragma once

#include <nats/nats.h>

#include <memory>
#include <string>

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
struct KvWatcherFree {
  void operator()(kvWatcher* p) const { kvWatcher_Destroy(p); }
};
struct KvStatusFree {
  void operator()(kvStatus* p) const { kvStatus_Destroy(p); }
};
struct SubscriptionFree {
  void operator()(natsSubscription* p) const {
    natsSubscription_Unsubscribe(p);
    natsSubscription_Destroy(p);
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

// A synchronous subscription on a fresh inbox, to `<inbox><suffix>` (e.g. "" for the inbox itself, ".>" for every
// subject under it): where the answers to requests made by hand arrive. Sets `inbox` (the subject prefix) and `sub`.
inline natsStatus SubscribeNewInbox(natsConnection* nc, const char* suffix, std::string* inbox, SubscriptionPtr* sub) {
  natsInbox* raw_inbox = nullptr;
  natsStatus s = natsInbox_Create(&raw_inbox);
  if (s != NATS_OK) return s;
  *inbox = raw_inbox;
  natsInbox_Destroy(raw_inbox);
  natsSubscription* raw_sub = nullptr;
  s = natsConnection_SubscribeSync(&raw_sub, nc, (*inbox + suffix).c_str());
  sub->reset(raw_sub);
  return s;
}

}  // namespace ironflow::server::nats
