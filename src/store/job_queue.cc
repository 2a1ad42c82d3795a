#include "store/job_queue.h"

#include "store/nats_handles.h"
#include "store/stream_admin.h"

namespace ironflow {

namespace {

constexpr int kMaxSubsPerQueue = 8;
constexpr int64_t kNsPerMs = 1000000;
// NAK-delayed retries and leased jobs both count against MaxAckPending: keep it far above any queue's depth of
// jobs in flight, so a backlog of delayed retries never stops fresh jobs from being delivered.
constexpr int64_t kMaxAckPending = 100000;

std::string DurableFor(const std::string& queue) {
  std::string d = "jobq_" + queue;
  d[5 + queue.find('.')] = '_';
  return d;
}

// A bound pull subscription; destroying it leaves the durable consumer in place (it was not created by the
// subscribe call).
struct PullSubFree {
  void operator()(natsSubscription* s) const { natsSubscription_Destroy(s); }
};
using PullSubPtr = std::unique_ptr<natsSubscription, PullSubFree>;

}  // namespace

struct JobQueue::PullSubs {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<PullSubPtr> idle;
  int total = 0;
};

Result<std::unique_ptr<JobQueue>> JobQueue::Open(NatsConnection& nc, int replicas, int64_t ack_wait_ms) {
  StreamSpec spec;
  spec.name = std::string(kStream);
  spec.description = "Ironflow jobs: one message per run, settled when the run's attempt ends";
  spec.subject = std::string(kSubjectPrefix) + ">";
  spec.replicas = replicas;
  spec.work_queue = true;
  spec.duplicates_ns = 2 * 60 * 1000 * kNsPerMs;
  spec.max_msg_size = 4096;
  IF_RETURN_IF_ERROR(EnsureStream(nc, spec, "job stream"));
  return std::unique_ptr<JobQueue>(new JobQueue(nc, ack_wait_ms));
}

JobQueue::~JobQueue() = default;

Status JobQueue::Enqueue(const std::string& queue, const std::string& msg_id, std::string_view data) {
  const std::string subject = std::string(kSubjectPrefix) + queue;
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MsgId = msg_id.c_str();
  po.MaxWait = nc_.request_timeout_ms();
  jsPubAck* raw = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_Publish(&raw, nc_.js(), subject.c_str(), data.data(), static_cast<int>(data.size()), &po, &err);
  nats::PubAckPtr ack(raw);
  return StatusFromNats(s, "enqueue a job");
}

Status JobQueue::EnsureConsumer(const std::string& queue, const std::string& durable) {
  const std::string filter = std::string(kSubjectPrefix) + queue;
  jsConsumerConfig cfg;
  jsConsumerConfig_Init(&cfg);
  cfg.Durable = durable.c_str();
  cfg.Description = "Ironflow job queue";
  cfg.AckPolicy = js_AckExplicit;
  cfg.AckWait = ack_wait_ms_ * kNsPerMs;
  cfg.MaxDeliver = -1;  // attempts are counted in the run record; TERM ends a job
  cfg.FilterSubject = filter.c_str();
  cfg.DeliverPolicy = js_DeliverAll;
  cfg.MaxAckPending = kMaxAckPending;
  const std::string stream(kStream);
  jsConsumerInfo* info = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_GetConsumerInfo(&info, nc_.js(), stream.c_str(), durable.c_str(), nullptr, &err);
  if (s == NATS_OK) {
    const bool same = info->Config && info->Config->AckWait == cfg.AckWait && info->Config->MaxAckPending == kMaxAckPending;
    jsConsumerInfo_Destroy(info);
    if (same) return Status::Ok();
    info = nullptr;
    s = js_UpdateConsumer(&info, nc_.js(), stream.c_str(), &cfg, nullptr, &err);
    if (info) jsConsumerInfo_Destroy(info);
    return StatusFromNats(s, "update the job consumer");
  }
  if (s != NATS_NOT_FOUND) return StatusFromNats(s, "job consumer info");
  info = nullptr;
  s = js_AddConsumer(&info, nc_.js(), stream.c_str(), &cfg, nullptr, &err);
  if (info) jsConsumerInfo_Destroy(info);
  if (s == NATS_OK) return Status::Ok();
  // Another server may have created it at the same moment: that is success.
  info = nullptr;
  natsStatus again = js_GetConsumerInfo(&info, nc_.js(), stream.c_str(), durable.c_str(), nullptr, &err);
  if (info) jsConsumerInfo_Destroy(info);
  return again == NATS_OK ? Status::Ok() : StatusFromNats(s, "create the job consumer");
}

Result<JobQueue::PullSubs*> JobQueue::SubsFor(const std::string& queue) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = subs_.find(queue);
    if (it != subs_.end()) return it->second.get();
  }
  IF_RETURN_IF_ERROR(EnsureConsumer(queue, DurableFor(queue)));
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = subs_[queue];
  if (!slot) slot = std::make_shared<PullSubs>();
  return slot.get();
}

Result<std::vector<FetchedJob>> JobQueue::Fetch(const std::string& queue, int batch) {
  auto subs = SubsFor(queue);
  if (!subs.ok()) return subs.status();
  PullSubs& pool = **subs;
  PullSubPtr sub;
  {
    std::unique_lock<std::mutex> lock(pool.mu);
    pool.cv.wait(lock, [&] { return !pool.idle.empty() || pool.total < kMaxSubsPerQueue; });
    if (!pool.idle.empty()) {
      sub = std::move(pool.idle.back());
      pool.idle.pop_back();
    } else {
      ++pool.total;
    }
  }
  // Returns the subscription to the pool (or gives up its slot if it could not be made).
  auto give_back = [&pool](PullSubPtr s) {
    std::lock_guard<std::mutex> lock(pool.mu);
    if (s) {
      pool.idle.push_back(std::move(s));
    } else {
      --pool.total;
    }
    pool.cv.notify_one();
  };
  if (!sub) {
    const std::string durable = DurableFor(queue), stream(kStream), filter = std::string(kSubjectPrefix) + queue;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Consumer = durable.c_str();
    natsSubscription* raw = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_PullSubscribe(&raw, nc_.js(), filter.c_str(), durable.c_str(), nullptr, &so, &err);
    if (s == NATS_NOT_FOUND && EnsureConsumer(queue, durable).ok()) {  // the consumer was deleted: make it again
      s = js_PullSubscribe(&raw, nc_.js(), filter.c_str(), durable.c_str(), nullptr, &so, &err);
    }
    if (s != NATS_OK) {
      give_back(nullptr);
      return StatusFromNats(s, "bind to the job consumer");
    }
    sub.reset(raw);
  }
  jsFetchRequest req;
  jsFetchRequest_Init(&req);
  req.Batch = batch;
  req.NoWait = true;
  req.Expires = 2000 * kNsPerMs;
  natsMsgList list = {nullptr, 0};
  natsStatus s = natsSubscription_FetchRequest(&list, sub.get(), &req);
  std::vector<FetchedJob> out;
  for (int i = 0; i < list.Count; ++i) {
    natsMsg* m = list.Msgs[i];
    FetchedJob job;
    job.data.assign(natsMsg_GetData(m), natsMsg_GetDataLength(m));
    if (const char* reply = natsMsg_GetReply(m)) job.ack_subject = reply;
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
      job.delivered = meta->NumDelivered;
      job.stream_seq = meta->Sequence.Stream;
      jsMsgMetaData_Destroy(meta);
    }
    if (!job.ack_subject.empty()) out.push_back(std::move(job));
  }
  natsMsgList_Destroy(&list);
  give_back(std::move(sub));
  if (s == NATS_OK || s == NATS_TIMEOUT || s == NATS_NOT_FOUND || !out.empty()) return out;
  return StatusFromNats(s, "fetch jobs");
}

Status JobQueue::Settle(const std::string& ack_subject, std::string_view body) {
  // Only a JetStream acknowledgement subject: a caller must never be able to publish elsewhere through this.
  if (ack_subject.rfind("$JS.ACK.", 0) != 0) return Status::InvalidArgument("not a JetStream ack subject");
  return nc_.Publish(ack_subject, body);
}

Status JobQueue::Ack(const std::string& ack_subject) { return Settle(ack_subject, "+ACK"); }
Status JobQueue::Term(const std::string& ack_subject) { return Settle(ack_subject, "+TERM"); }
Status JobQueue::InProgress(const std::string& ack_subject) { return Settle(ack_subject, "+WPI"); }
Status JobQueue::Nak(const std::string& ack_subject, int64_t delay_ms) {
  if (delay_ms <= 0) return Settle(ack_subject, "-NAK");
  return Settle(ack_subject, "-NAK {\"delay\":" + std::to_string(delay_ms * kNsPerMs) + "}");
}

}  // namespace ironflow
