#include "store/job_queue.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "store/nats_handles.h"
#include "store/stream_admin.h"

namespace ironflow::server {

namespace {

constexpr int64_t kNsPerMs = 1000000;
constexpr int64_t kInfoWaitMs = 2000;  // a consumer's or the stream's info, asked to find out whether it is led
// Options for those info requests: a consumer without a leader never answers, so they wait kInfoWaitMs at most.
jsOptions InfoOptions(const NatsConnection& nc) {
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = std::min<int64_t>(kInfoWaitMs, nc.request_timeout_ms());
  return jo;
}
std::string DurableFor(const std::string& queue) {
  std::string d = "jobq_" + queue;
  d[5 + queue.find('.')] = '_';
  return d;
}

}  // namespace

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
  const std::string subject = JobMessage(queue, msg_id, "").subject;
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

JobQueue::ConsumerSpec JobQueue::ConsumerFor(const std::string& queue, int64_t ack_wait_ms) {
  return ConsumerSpec{DurableFor(queue), std::string(kSubjectPrefix) + queue, ack_wait_ms};
}

jsConsumerConfig JobQueue::ConsumerSpec::Config() const {
  jsConsumerConfig cfg;
  jsConsumerConfig_Init(&cfg);
  cfg.Durable = durable.c_str();
  cfg.Description = "Ironflow job queue";
  cfg.AckPolicy = js_AckExplicit;
  cfg.AckWait = ack_wait_ms * kNsPerMs;
  cfg.MaxDeliver = -1;  // attempts are counted in the run record; TERM ends a job
  cfg.FilterSubject = filter.c_str();
  cfg.DeliverPolicy = js_DeliverAll;
  cfg.MaxAckPending = kMaxAckPending;
  return cfg;
}

Status JobQueue::EnsureConsumer(const std::string& queue) {
  const ConsumerSpec spec = ConsumerFor(queue, ack_wait_ms_);
  jsConsumerConfig cfg = spec.Config();
  const std::string& durable = spec.durable;
  const std::string stream(kStream);
  // The info is asked with a short wait: a consumer without a leader never answers it, and the poll that asked
  // should count as unanswered soon rather than hold its thread for the whole request timeout.
  jsOptions jo = InfoOptions(nc_);
  jsConsumerInfo* info = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_GetConsumerInfo(&info, nc_.js(), stream.c_str(), durable.c_str(), &jo, &err);
  if (s == NATS_OK) {
    const bool same =
        info->Config && info->Config->AckWait == cfg.AckWait && info->Config->MaxAckPending == kMaxAckPending;
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
  natsStatus again = js_GetConsumerInfo(&info, nc_.js(), stream.c_str(), durable.c_str(), &jo, &err);
  if (info) jsConsumerInfo_Destroy(info);
  return again == NATS_OK ? Status::Ok() : StatusFromNats(s, "create the job consumer");
}

Status JobQueue::EnsureConsumerOnce(const std::string& queue) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ensured_.count(queue)) return Status::Ok();
  }
  IF_RETURN_IF_ERROR(EnsureConsumer(queue));
  std::lock_guard<std::mutex> lock(mu_);
  ensured_.insert(queue);
  return Status::Ok();
}

Result<std::vector<FetchedJob>> JobQueue::Fetch(const std::string& queue, int batch) {
  if (Status ensured = EnsureConsumerOnce(queue); !ensured.ok()) {
    // A leaderless consumer's info goes unanswered too. One made again has its jobs now: fetch them at once.
    if (NoteFetchAnswered(queue, false)) return Fetch(queue, batch);
    return ensured;
  }
  // A pull request of our own rather than natsSubscription_FetchRequest: nats.c 3.4.1 sends its local wait as
  // the request's expiry, and nats-server 2.9 holds a no-wait request with an expiry open until it expires when
  // the queue is empty, while a no-wait request without one makes nats.c return before the answer arrives
  // (leaving the jobs in the subscription for a later, unrelated fetch). Here the request asks for what is there
  // now, the server answers at once (the jobs, then a 404 status if fewer than asked), and we wait for that
  // answer on an inbox of this call alone.
  std::string inbox;
  nats::SubscriptionPtr sub;
  natsStatus s = nats::SubscribeNewInbox(nc_.raw(), "", nc_.retired(), &inbox, &sub);
  if (s != NATS_OK) return StatusFromNats(s, "fetch jobs");
  const std::string next = "$JS.API.CONSUMER.MSG.NEXT." + std::string(kStream) + "." + DurableFor(queue);
  const std::string request = "{\"batch\":" + std::to_string(batch) + ",\"no_wait\":true}";
  s = natsConnection_PublishRequest(nc_.raw(), next.c_str(), inbox.c_str(), request.data(),
                                    static_cast<int>(request.size()));
  if (s != NATS_OK) return StatusFromNats(s, "fetch jobs");
  std::vector<FetchedJob> out;
  bool answered = false;  // the consumer's leader said something (a job, or a 404/408 status)
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(nc_.request_timeout_ms());
  while (static_cast<int>(out.size()) < batch) {
    const int64_t left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;  // jobs answered after this are not taken: they come back after AckWait
    natsMsg* raw_msg = nullptr;
    s = natsSubscription_NextMsg(&raw_msg, sub.get(), left);
    if (s != NATS_OK) break;
    nats::MsgPtr m(raw_msg);
    const char* reply = natsMsg_GetReply(m.get());
    if (reply == nullptr || std::string_view(reply).rfind("$JS.ACK.", 0) != 0) {
      // A status: 404 (nothing more now), 408, or 503 (no responders: the consumer is gone or has no leader).
      const char* status = nullptr;
      if (natsMsgHeader_Get(m.get(), "Status", &status) == NATS_OK && status && std::string_view(status) == "503") {
        std::lock_guard<std::mutex> lock(mu_);
        ensured_.erase(queue);
      } else {
        answered = true;
      }
      break;
    }
    answered = true;
    FetchedJob job;
    job.data.assign(natsMsg_GetData(m.get()), natsMsg_GetDataLength(m.get()));
    job.ack_subject = reply;
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, m.get()) == NATS_OK) {
      job.delivered = meta->NumDelivered;
      job.stream_seq = meta->Sequence.Stream;
      jsMsgMetaData_Destroy(meta);
    }
    out.push_back(std::move(job));
  }
  if (NoteFetchAnswered(queue, answered) && out.empty()) return Fetch(queue, batch);  // made again: fetch from it
  if (out.empty() && s != NATS_OK && s != NATS_TIMEOUT) return StatusFromNats(s, "fetch jobs");
  return out;
}

bool JobQueue::NoteFetchAnswered(const std::string& queue, bool answered) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (answered) {
      silent_.erase(queue);
      return false;
    }
    auto [it, first] = silent_.try_emplace(queue, Silence{now, {}});
    if (first || now - it->second.since < std::chrono::milliseconds(kLeaderlessAfterMs)) return false;
    if (it->second.checked && now - *it->second.checked < std::chrono::milliseconds(kRecreateEveryMs)) return false;
    it->second.checked = now;  // this caller checks; the others go on fetching
  }
  auto made = RecreateIfLeaderless(queue);
  if (!made.ok()) {
    spdlog::warn("job consumer of queue {} unanswered for {} s, not made again: {}", queue, kLeaderlessAfterMs / 1000,
                 made.status().message());
    return false;
  }
  return *made;
}

Result<bool> JobQueue::RecreateIfLeaderless(const std::string& queue) {
  const std::string stream(kStream);
  const std::string durable = DurableFor(queue);
  jsOptions jo = InfoOptions(nc_);
  jsConsumerInfo* info = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_GetConsumerInfo(&info, nc_.js(), stream.c_str(), durable.c_str(), &jo, &err);
  const bool led = s == NATS_OK && info != nullptr && info->Cluster != nullptr && info->Cluster->Leader != nullptr &&
                   info->Cluster->Leader[0] != '\0';
  const bool single = s == NATS_OK && info != nullptr && info->Cluster == nullptr;  // not clustered: always led
  if (info) jsConsumerInfo_Destroy(info);
  if (led || single) return false;  // a leader answers info: the fetches were slow, not lost
  // A new consumer gets a leader only where the stream has one.
  jsStreamInfo* raw_stream = nullptr;
  s = js_GetStreamInfo(&raw_stream, nc_.js(), stream.c_str(), &jo, &err);
  nats::StreamInfoPtr stream_info(raw_stream);
  if (s != NATS_OK) return StatusFromNats(s, "job stream info (the stream has no leader either)");
  spdlog::warn(
      "job consumer {} has had no leader for {} s while its stream has one (nats-server 2.9.10 after a meta "
      "leader loss): deleting and making it again; jobs leased meanwhile come back as after a lost lease",
      durable, kLeaderlessAfterMs / 1000);
  s = js_DeleteConsumer(nc_.js(), stream.c_str(), durable.c_str(), &jo, &err);
  if (s == NATS_TIMEOUT) {
    // The meta leader removes the consumer, but the answer is sent by the consumer's leader, which is what is
    // missing, so a delete that went unanswered has usually happened (ClusterTest sees this every time). Gone is
    // what counts.
    jsConsumerInfo* still = nullptr;
    s = js_GetConsumerInfo(&still, nc_.js(), stream.c_str(), durable.c_str(), &jo, &err);
    if (still) jsConsumerInfo_Destroy(still);
    if (s != NATS_NOT_FOUND) return Status::Unavailable("its delete went unanswered and it is not known to be gone");
  } else if (s != NATS_OK && s != NATS_NOT_FOUND) {
    return StatusFromNats(s, "delete the leaderless job consumer");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ensured_.erase(queue);
  }
  IF_RETURN_IF_ERROR(EnsureConsumerOnce(queue));
  recreated_.fetch_add(1);
  spdlog::info("job consumer {} made again", durable);
  return true;
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

Result<std::vector<JobQueue::Depth>> JobQueue::Depths() {
  IF_ASSIGN_OR_RETURN(auto counts,
                      CountMessagesBySubject(nc_, std::string(kStream), std::string(kSubjectPrefix) + ">"));
  std::vector<Depth> out;
  for (const auto& [subject, n] : counts) {
    // "<prefix><environment>.<function id>": environments hold no '.', so the first one splits them.
    const std::string queue = subject.substr(kSubjectPrefix.size());
    const size_t dot = queue.find('.');
    if (dot != std::string::npos) out.push_back({queue.substr(0, dot), queue.substr(dot + 1), n});
  }
  return out;
}

}  // namespace ironflow::server
