#include "store/stream_reader.h"

#include <deque>

#include "store/nats_handles.h"
#include "store/stream_admin.h"

namespace ironflow::server {
namespace {

struct ConsumerInfoFree {
  void operator()(jsConsumerInfo* p) const { jsConsumerInfo_Destroy(p); }
};
struct MetaFree {
  void operator()(jsMsgMetaData* p) const { jsMsgMetaData_Destroy(p); }
};

// An ordered consumer over `stream` from `start_ns` (0: its first message).
Result<nats::SubscriptionPtr> SubscribeOrdered(NatsConnection& nc, const std::string& stream,
                                               const std::string& subject_filter, int64_t start_ns) {
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Stream.Info.DeletedDetails = false;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream.c_str();
  so.Ordered = true;
  if (start_ns > 0) {
    so.Config.DeliverPolicy = js_DeliverByStartTime;
    so.Config.OptStartTime = start_ns;
  } else {
    so.Config.DeliverPolicy = js_DeliverAll;
  }
  natsSubscription* raw = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_SubscribeSync(&raw, nc.js(), subject_filter.c_str(), &jo, &so, &err);
  nats::SubscriptionPtr sub = nats::OwnSubscription(raw, nc.retired());
  if (s != NATS_OK) return StatusFromNats(s, "read stream " + stream);
  return sub;
}

// The message as a StreamMessage; `*pending` (if known) how many more the consumer has for us.
StreamMessage ToStreamMessage(natsMsg* msg, uint64_t* pending) {
  StreamMessage m;
  m.subject = natsMsg_GetSubject(msg);
  m.data.assign(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  const char* op = nullptr;
  if (natsMsgHeader_Get(msg, "KV-Operation", &op) == NATS_OK && op != nullptr) m.kv_operation = op;
  jsMsgMetaData* raw_meta = nullptr;
  if (natsMsg_GetMetaData(&raw_meta, msg) == NATS_OK) {
    std::unique_ptr<jsMsgMetaData, MetaFree> meta(raw_meta);
    m.sequence = meta->Sequence.Stream;
    m.time_ns = meta->Timestamp;
    if (pending) *pending = meta->NumPending;
  }
  return m;
}

}  // namespace

Status ScanStream(NatsConnection& nc, const std::string& stream, const std::string& subject_filter,
                  const std::function<bool(const StreamMessage&)>& visit) {
  IF_ASSIGN_OR_RETURN(auto state, GetStreamState(nc, stream));
  const uint64_t cut = state.last_seq;
  if (state.messages == 0) return Status::Ok();
  IF_ASSIGN_OR_RETURN(auto sub, SubscribeOrdered(nc, stream, subject_filter, 0));
  for (;;) {
    natsMsg* raw_msg = nullptr;
    natsStatus s = natsSubscription_NextMsg(&raw_msg, sub.get(), nc.request_timeout_ms());
    if (s != NATS_OK) return StatusFromNats(s, "read stream " + stream);
    nats::MsgPtr msg(raw_msg);
    uint64_t pending = 1;
    StreamMessage m = ToStreamMessage(msg.get(), &pending);
    if (m.sequence > cut) return Status::Ok();
    if (!visit(m)) return Status::Ok();
    if (m.sequence >= cut || pending == 0) return Status::Ok();
  }
}

Result<std::vector<StreamMessage>> ReadStream(NatsConnection& nc, const StreamQuery& query, bool* truncated) {
  if (truncated) *truncated = false;
  IF_ASSIGN_OR_RETURN(auto subscribed, SubscribeOrdered(nc, query.stream, query.subject_filter, query.since_ns));
  nats::SubscriptionPtr sub = std::move(subscribed);
  jsErrCode err = static_cast<jsErrCode>(0);
  // How many messages match right now; the read stops there, so it never waits for future messages.
  jsConsumerInfo* raw_ci = nullptr;
  natsStatus s = natsSubscription_GetConsumerInfo(&raw_ci, sub.get(), nullptr, &err);
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
    // Messages that age out meanwhile are skipped by the consumer (the last one delivered then says 0 remain), so
    // a silence here is a stalled read (e.g. the stream's leader changed): a partial answer would pass for whole.
    if (s == NATS_TIMEOUT) {
      return Status::Unavailable("read stream " + query.stream + ": stalled after " + std::to_string(i) + " of " +
                                 std::to_string(pending) + " messages; try again");
    }
    if (s != NATS_OK) return StatusFromNats(s, "read stream " + query.stream);
    nats::MsgPtr msg(raw_msg);
    uint64_t remaining = 1;
    StreamMessage m = ToStreamMessage(msg.get(), &remaining);
    const bool last = remaining == 0;
    if (!query.accept || query.accept(m)) {
      kept.push_back(std::move(m));
      if (kept.size() > query.keep) kept.pop_front();
    }
    if (last) break;
  }
  return std::vector<StreamMessage>(std::make_move_iterator(kept.begin()), std::make_move_iterator(kept.end()));
}

}  // namespace ironflow::server
