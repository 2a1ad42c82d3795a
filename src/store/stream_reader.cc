#include "store/stream_reader.h"

#include <deque>

#include "store/nats_handles.h"

namespace ironflow {
namespace {

struct ConsumerInfoFree {
  void operator()(jsConsumerInfo* p) const { jsConsumerInfo_Destroy(p); }
};
struct MetaFree {
  void operator()(jsMsgMetaData* p) const { jsMsgMetaData_Destroy(p); }
};

}  // namespace

Result<std::vector<StreamMessage>> ReadStream(NatsConnection& nc, const StreamQuery& query, bool* truncated) {
  if (truncated) *truncated = false;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Stream.Info.DeletedDetails = false;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = query.stream.c_str();
  so.Ordered = true;
  if (query.since_ns > 0) {
    so.Config.DeliverPolicy = js_DeliverByStartTime;
    so.Config.OptStartTime = query.since_ns;
  } else {
    so.Config.DeliverPolicy = js_DeliverAll;
  }
  natsSubscription* raw = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_SubscribeSync(&raw, nc.js(), query.subject_filter.c_str(), &jo, &so, &err);
  nats::SubscriptionPtr sub(raw);
  if (s != NATS_OK) return StatusFromNats(s, "read stream " + query.stream);

  // How many messages match right now; the read stops there, so it never waits for future messages.
  jsConsumerInfo* raw_ci = nullptr;
  s = natsSubscription_GetConsumerInfo(&raw_ci, sub.get(), nullptr, &err);
  std::unique_ptr<jsConsumerInfo, ConsumerInfoFree> ci(raw_ci);
  if (s != NATS_OK) return StatusFromNats(s, "read stream " + query.stream);
  uint64_t pending = ci->NumPending + ci->Delivered.Consumer;  // some may already be on their way to us
  if (pending > query.scan_limit) {
    if (truncated) *truncated = true;
    pending = query.scan_limit;
  }

  std::deque<StreamMessage> kept;
  for (uint64_t i = 0; i < pending; ++i) {
    natsMsg* raw_msg = nullptr;
    s = natsSubscription_NextMsg(&raw_msg, sub.get(), nc.request_timeout_ms());
    if (s == NATS_TIMEOUT) break;  // fewer than announced (e.g. aged out meanwhile)
    if (s != NATS_OK) return StatusFromNats(s, "read stream " + query.stream);
    nats::MsgPtr msg(raw_msg);
    StreamMessage m;
    m.subject = natsMsg_GetSubject(msg.get());
    m.data.assign(natsMsg_GetData(msg.get()), static_cast<size_t>(natsMsg_GetDataLength(msg.get())));
    jsMsgMetaData* raw_meta = nullptr;
    bool last = false;
    if (natsMsg_GetMetaData(&raw_meta, msg.get()) == NATS_OK) {
      std::unique_ptr<jsMsgMetaData, MetaFree> meta(raw_meta);
      m.sequence = meta->Sequence.Stream;
      m.time_ns = meta->Timestamp;
      last = meta->NumPending == 0;
    }
    if (!query.accept || query.accept(m)) {
      kept.push_back(std::move(m));
      if (kept.size() > query.keep) kept.pop_front();
    }
    if (last) break;
  }
  return std::vector<StreamMessage>(std::make_move_iterator(kept.begin()), std::make_move_iterator(kept.end()));
}

}  // namespace ironflow
