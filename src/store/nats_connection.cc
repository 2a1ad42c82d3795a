#include "store/nats_connection.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include <cstdlib>

#include "common/hex.h"
#include "crypto/digest.h"
#include "store/nats_detach_guard.h"
#include "store/nats_handles.h"
#include "store/nats_inline_free.h"
#include "store/reply_inboxes.h"
#include "store/retired_handles.h"

namespace ironflow::server {

Status StatusFromNats(int code, std::string_view operation) {
  auto s = static_cast<natsStatus>(code);
  if (s == NATS_OK) return Status::Ok();
  std::string msg = std::string(operation) + ": " + natsStatus_GetText(s);
  switch (s) {
    case NATS_NOT_FOUND: return Status::NotFound(msg);
    case NATS_TIMEOUT:
    case NATS_NO_SERVER:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_NO_RESPONDERS:
    case NATS_NOT_YET_CONNECTED:
    case NATS_IO_ERROR: return Status::Unavailable(msg);
    default: return Status::Internal(msg);
  }
}

std::string WithoutNatsSourceLocation(std::string_view text) {
  // "(<file>.c:<line>): ": nats.c's own prefix, added where it sets an error.
  if (text.empty() || text.front() != '(') return std::string(text);
  const size_t close = text.find("): ");
  if (close == std::string_view::npos) return std::string(text);
  const std::string_view where = text.substr(1, close - 1);
  const size_t colon = where.rfind(':');
  const bool located = colon != std::string_view::npos && colon >= 3 && where.substr(colon - 2, 2) == ".c" &&
                       colon + 1 < where.size() &&
                       where.find_first_not_of("0123456789", colon + 1) == std::string_view::npos;
  return located ? std::string(text.substr(close + 3)) : std::string(text);
}

std::string LastNatsErrorText() {
  natsStatus ignored = NATS_OK;
  const char* text = nats_GetLastError(&ignored);
  return text ? WithoutNatsSourceLocation(text) : std::string();
}

std::string RedactNatsUrl(std::string_view urls) {
  std::string out;
  size_t start = 0;
  for (;;) {
    size_t comma = urls.find(',', start);
    std::string_view one = urls.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    size_t scheme_end = one.find("://");
    size_t host_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
    size_t at = one.find('@', host_start);
    if (at != std::string_view::npos) {
      out.append(one.substr(0, host_start)).append(one.substr(at + 1));
    } else {
      out.append(one);
    }
    if (comma == std::string_view::npos) break;
    out += ',';
    start = comma + 1;
  }
  return out;
}

std::vector<std::string> SplitNatsUrls(std::string_view urls) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= urls.size()) {
    size_t comma = urls.find(',', start);
    std::string_view one = urls.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!one.empty() && (one.front() == ' ' || one.front() == '\t')) one.remove_prefix(1);
    while (!one.empty() && (one.back() == ' ' || one.back() == '\t')) one.remove_suffix(1);
    if (!one.empty()) out.emplace_back(one);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

Result<std::unique_ptr<NatsConnection>> NatsConnection::Connect(const Options& options) {
  constexpr int kDeliveryThreads = 4;
  // nats.c spins on contended mutexes by default (2000 tries); with many request threads on few cores that
  // burns the CPU the requests need. Block instead. Only the first call in a process has an effect.
  static std::once_flag library_opened;
  std::call_once(library_opened, [] {
    nats_Open(0);
    // Subscriptions share a few delivery threads instead of one thread each (an open event stream is a
    // subscription: hundreds of them must not cost hundreds of threads).
    nats_SetMessageDeliveryPoolSize(kDeliveryThreads);
    if (!nats::DetachGuardActive()) {
      spdlog::warn(
          "this program does not export its natsThread_Detach guard: a failed JetStream ordered-consumer "
          "reset in nats.c can crash it (see store/nats_detach_guard.h)");
    }
    if (!nats::InlineFreeActive()) {
      spdlog::info(
          "this program does not export its natsGC_collect: nats.c frees messages on its collector thread "
          "(slower; see store/nats_inline_free.h)");
    }
  });
  std::unique_ptr<NatsConnection> conn(new NatsConnection(options));
  conn->redacted_url_ = RedactNatsUrl(options.url);

  natsOptions* raw_opts = nullptr;
  natsStatus s = natsOptions_Create(&raw_opts);
  if (s != NATS_OK) return StatusFromNats(s, "nats options");
  nats::OptionsPtr opts(raw_opts);
  const std::vector<std::string> urls = SplitNatsUrls(options.url);
  if (urls.empty()) return Status::InvalidArgument("no NATS URL given");
  std::vector<const char*> url_ptrs;
  for (const auto& u : urls) url_ptrs.push_back(u.c_str());
  s = natsOptions_SetServers(opts.get(), url_ptrs.data(), static_cast<int>(url_ptrs.size()));
  // nats.c tries them in random order (spreading servers over the nodes), on the first connect and on each
  // reconnect, together with the peers the cluster advertises.
  if (s == NATS_OK) s = natsOptions_SetName(opts.get(), options.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts.get(), -1);  // reconnect forever
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts.get(), 250);
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts.get(), 2000);
  // Write requests from the calling thread instead of waking the flusher thread: one context switch less per
  // KV operation, which dominates latency on small machines.
  if (s == NATS_OK) s = natsOptions_SetSendAsap(opts.get(), true);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts.get(), &NatsConnection::OnReconnected, conn.get());
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts.get(), &NatsConnection::OnDisconnected, conn.get());
  if (s == NATS_OK) s = natsOptions_SetClosedCB(opts.get(), &NatsConnection::OnClosed, conn.get());
  if (s == NATS_OK) s = natsOptions_UseGlobalMessageDelivery(opts.get(), true);
  if (s != NATS_OK) return Status::InvalidArgument("invalid NATS URL or options: " + conn->redacted_url_);
  if (!options.tls_ca_file.empty() || !options.tls_cert_file.empty()) {
    if (natsOptions_SetSecure(opts.get(), true) != NATS_OK)
      return Status::InvalidArgument("cannot enable TLS for NATS");
  }
  if (!options.tls_ca_file.empty() &&
      natsOptions_LoadCATrustedCertificates(opts.get(), options.tls_ca_file.c_str()) != NATS_OK) {
    return Status::InvalidArgument("cannot load the NATS CA file " + options.tls_ca_file);
  }
  if (!options.tls_cert_file.empty() && natsOptions_LoadCertificatesChain(opts.get(), options.tls_cert_file.c_str(),
                                                                          options.tls_key_file.c_str()) != NATS_OK) {
    return Status::InvalidArgument("cannot load the NATS client certificate " + options.tls_cert_file + " / key " +
                                   options.tls_key_file);
  }
  if (!options.creds_file.empty() &&
      natsOptions_SetUserCredentialsFromFiles(opts.get(), options.creds_file.c_str(), nullptr) != NATS_OK) {
    return Status::InvalidArgument("cannot use the NATS credentials file " + options.creds_file);
  }

  // The first connect is retried until the deadline: the server (embedded child or cluster) may still be starting.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.connect_deadline_ms);
  for (;;) {
    s = natsConnection_Connect(&conn->nc_, opts.get());
    if (s == NATS_OK) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable("cannot connect to NATS at " + conn->redacted_url_ + ": " + natsStatus_GetText(s));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  jsOptions jsopts;
  jsOptions_Init(&jsopts);
  jsopts.Wait = options.request_timeout_ms;
  {
    std::lock_guard<std::mutex> lock(conn->last_server_mu_);
    conn->last_server_ = conn->connected_server();
  }
  s = natsConnection_JetStream(&conn->js_, conn->nc_, &jsopts);
  if (s != NATS_OK) return StatusFromNats(s, "jetstream context");
  conn->replies_ = std::make_unique<ReplyInboxes>(conn->nc_, conn->retired_);
  return conn;
}

NatsConnection::NatsConnection(Options o)
    : options_(std::move(o)),
      retired_(std::make_shared<RetiredHandles>(options_.retire_grace_ms)),
      message_id_prefix_(HexEncode(RandomBytes(8))) {}

std::string NatsConnection::NewMessageId() {
  const uint64_t n = message_ids_.fetch_add(1, std::memory_order_relaxed);
  uint8_t counter[8];
  for (int i = 0; i < 8; ++i) counter[i] = static_cast<uint8_t>(n >> (56 - 8 * i));
  return message_id_prefix_ + HexEncode(counter, sizeof counter);
}

NatsConnection::~NatsConnection() {
  replies_.reset();  // its subscriptions unsubscribe while the connection is still open
  if (js_) jsCtx_Destroy(js_);
  if (nc_) {
    natsConnection_Close(nc_);
    {
      std::unique_lock<std::mutex> lock(closed_mu_);
      closed_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return closed_; });
    }
    natsConnection_Destroy(nc_);
  }
}

void NatsConnection::OnClosed(natsConnection*, void* closure) {
  auto* self = static_cast<NatsConnection*>(closure);
  std::lock_guard<std::mutex> lock(self->closed_mu_);
  self->closed_ = true;
  self->closed_cv_.notify_all();  // under the lock: the destructor may free the object as soon as it sees closed_
}

NatsConnection::ConnectedServer NatsConnection::connected_server() const {
  ConnectedServer out;
  if (nc_ == nullptr) return out;
  char buf[512];
  if (natsConnection_GetConnectedUrl(nc_, buf, sizeof buf) == NATS_OK) out.url = RedactNatsUrl(buf);
  if (natsConnection_GetConnectedServerId(nc_, buf, sizeof buf) == NATS_OK) out.server_id = buf;
  return out;
}

void NatsConnection::OnDisconnected(natsConnection*, void* closure) {
  auto* self = static_cast<NatsConnection*>(closure);
  ConnectedServer was;
  {
    std::lock_guard<std::mutex> lock(self->last_server_mu_);
    was = self->last_server_;
  }
  // Also called once when the connection closes at shutdown; that is not worth a warning.
  if (self->nc_ != nullptr && natsConnection_IsClosed(self->nc_)) return;
  spdlog::warn("lost the NATS connection to {} (server {}); reconnecting", was.url, was.server_id);
}

void NatsConnection::OnReconnected(natsConnection*, void* closure) {
  auto* self = static_cast<NatsConnection*>(closure);
  self->reconnects_.fetch_add(1);
  ConnectedServer now = self->connected_server();
  spdlog::info("reconnected to NATS at {} (server {})", now.url, now.server_id);
  {
    std::lock_guard<std::mutex> lock(self->last_server_mu_);
    self->last_server_ = now;
  }
  if (self->options_.on_reconnected) self->options_.on_reconnected();
}

std::vector<NatsConnection::PublishAnswer> NatsConnection::SendRound(const std::vector<StreamPublish>& messages,
                                                                     const std::vector<size_t>& indices,
                                                                     const std::vector<std::string>& ids,
                                                                     int64_t wait_ms) {
  using Clock = std::chrono::steady_clock;
  std::vector<PublishAnswer> answers(messages.size());
  // A reply prefix of this round alone: an answer to an earlier round arriving late is not mistaken for this one's.
  ReplyInboxes::Round round;
  natsStatus s = replies_->Begin(&round);
  size_t sent = 0;
  for (size_t i : indices) {
    if (s != NATS_OK) break;
    const StreamPublish& m = messages[i];
    natsMsg* raw = nullptr;
    const std::string reply = round.prefix() + "." + std::to_string(i);
    s = natsMsg_Create(&raw, m.subject.c_str(), reply.c_str(), m.data.data(), static_cast<int>(m.data.size()));
    nats::MsgPtr msg(raw);
    if (s == NATS_OK) s = natsMsgHeader_Set(msg.get(), "Nats-Msg-Id", ids[i].c_str());
    if (s == NATS_OK && (m.create_only || m.expected_seq != 0)) {
      const std::string expected = std::to_string(m.create_only ? 0 : m.expected_seq);
      s = natsMsgHeader_Set(msg.get(), "Nats-Expected-Last-Subject-Sequence", expected.c_str());
    }
    if (s == NATS_OK) s = natsConnection_PublishMsg(nc_, msg.get());
    if (s == NATS_OK) ++sent;
  }
  const std::string send_error = s != NATS_OK ? natsStatus_GetText(s) : "no answer";
  for (size_t i : indices) answers[i].error = send_error;
  const auto round_end = Clock::now() + std::chrono::milliseconds(wait_ms);
  for (size_t got = 0; got < sent;) {
    const int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(round_end - Clock::now()).count();
    if (left <= 0) break;
    nats::MsgPtr answer;
    if (round.Next(&answer, left) != NATS_OK) break;
    const std::string_view subject = natsMsg_GetSubject(answer.get());
    const size_t index = std::strtoull(std::string(subject.substr(round.prefix().size() + 1)).c_str(), nullptr, 10);
    if (index >= messages.size() || answers[index].state != PublishAnswer::kNone) continue;
    ++got;
    PublishAnswer& a = answers[index];
    const std::string_view body(natsMsg_GetData(answer.get()), natsMsg_GetDataLength(answer.get()));
    const char* status = nullptr;
    if (natsMsgHeader_Get(answer.get(), "Status", &status) == NATS_OK && status != nullptr) {
      a.state = PublishAnswer::kFailed;
      a.error = std::string(status) == "503" ? "no responders (no stream leader)" : "status " + std::string(status);
    } else if (body.find("\"error\"") != std::string_view::npos || body.find("\"seq\"") == std::string_view::npos) {
      // JetStream error 10071, wrong last sequence: the subject is not at the expected sequence.
      const bool conditional = messages[index].create_only || messages[index].expected_seq != 0;
      a.state = conditional && body.find("10071") != std::string_view::npos ? PublishAnswer::kRefused
                                                                            : PublishAnswer::kFailed;
      a.error = std::string(body.substr(0, 200));
    } else {
      a.state = PublishAnswer::kStored;
      a.error.clear();
      const size_t at = body.find("\"seq\":");
      a.seq = std::strtoull(std::string(body.substr(at + 6, 24)).c_str(), nullptr, 10);
    }
  }
  return answers;
}

std::vector<Result<uint64_t>> NatsConnection::PublishEachOnce(const std::vector<StreamPublish>& messages) {
  std::vector<std::string> ids;
  std::vector<size_t> all(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    ids.push_back(messages[i].msg_id.empty() ? NewMessageId() : messages[i].msg_id);
    all[i] = i;
  }
  std::vector<Result<uint64_t>> out;
  for (const auto& a : SendRound(messages, all, ids, options_.request_timeout_ms)) {
    switch (a.state) {
      case PublishAnswer::kStored: out.emplace_back(a.seq); break;
      case PublishAnswer::kRefused: out.emplace_back(Status::Conflict("wrong last sequence")); break;
      default: out.emplace_back(Status::Unavailable("stream publish: " + a.error)); break;
    }
  }
  return out;
}

Status NatsConnection::PublishToStreamDurably(const std::vector<StreamPublish>& messages, int64_t deadline_ms,
                                              std::vector<uint64_t>* sequences) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(deadline_ms);
  std::vector<std::string> ids;
  for (const auto& m : messages) ids.push_back(m.msg_id.empty() ? NewMessageId() : m.msg_id);
  if (sequences) sequences->assign(messages.size(), 0);
  std::vector<size_t> pending(messages.size());
  for (size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  std::string last_error = "no answer";
  auto backoff = std::chrono::milliseconds(250);
  for (int round = 1;; ++round) {
    // Each round waits up to the request timeout, or the deadline if sooner.
    const int64_t wait_ms = std::min<int64_t>(
        options_.request_timeout_ms,
        std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
    const auto answers = SendRound(messages, pending, ids, wait_ms);
    std::vector<size_t> still;
    for (size_t i : pending) {
      const PublishAnswer& a = answers[i];
      if (a.state == PublishAnswer::kStored) {
        if (sequences) (*sequences)[i] = a.seq;
        continue;
      }
      // A conditional message refused: its subject moved on (a create-only subject is taken). Retrying cannot help.
      if (a.state == PublishAnswer::kRefused) return Status::Conflict(messages[i].subject + " exists");
      last_error = a.error;
      still.push_back(i);
    }
    pending.swap(still);
    if (pending.empty()) return Status::Ok();
    if (Clock::now() + backoff > deadline || natsConnection_IsClosed(nc_)) {  // closed: shutting down, fail now
      return Status::Unavailable(std::to_string(pending.size()) + " of " + std::to_string(messages.size()) +
                                 " event(s) not stored after " + std::to_string(round) + " attempt(s): " + last_error);
    }
    stream_retries_.fetch_add(pending.size());
    std::this_thread::sleep_for(backoff);  // a retry's backoff (e.g. while the stream elects a leader)
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

bool NatsConnection::connected() const { return nc_ && natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED; }

void NatsConnection::Close() {
  if (nc_) natsConnection_Close(nc_);
}

Status NatsConnection::Publish(std::string_view subject, std::string_view data) {
  std::string subj(subject);
  return StatusFromNats(natsConnection_Publish(nc_, subj.c_str(), data.data(), static_cast<int>(data.size())),
                        "publish");
}

using SubscriptionCallback = std::function<void(std::string_view, std::string_view)>;

struct NatsConnection::Subscription::Delivery {
  SubscriptionCallback callback;
  // The nats.c thread running the callback now: a callback whose effects destroy the subscription (an event
  // stream's last reference dropped inside it) must not wait for its own thread.
  std::atomic<std::thread::id> delivering{};
  std::mutex mu;
  std::condition_variable completed_cv;
  bool completed = false;  // nats.c made its last call for the subscription
};

namespace {
using DeliveryShare = std::shared_ptr<NatsConnection::Subscription::Delivery>;  // nats.c's closure: one on the heap

void OnSubscriptionMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  nats::MsgPtr owned(msg);
  const DeliveryShare& delivery = *static_cast<DeliveryShare*>(closure);  // freed only after the last callback
  delivery->delivering = std::this_thread::get_id();
  delivery->callback(natsMsg_GetSubject(msg), std::string_view(natsMsg_GetData(msg), natsMsg_GetDataLength(msg)));
  delivery->delivering = std::thread::id();
}

// nats.c's last call for a subscription: no message callback runs after it, so its share can go.
void OnSubscriptionComplete(void* closure) {
  std::unique_ptr<DeliveryShare> share(static_cast<DeliveryShare*>(closure));
  std::lock_guard<std::mutex> lock((*share)->mu);
  (*share)->completed = true;
  (*share)->completed_cv.notify_all();
}
}  // namespace

NatsConnection::Subscription::~Subscription() {
  if (!sub_) return;
  if (delivery_->delivering.load() == std::this_thread::get_id()) {
    // Destroyed from inside its own callback: nats.c's last call comes on this thread once the callback returns.
    retired_->RetireSubscription(sub_);
    return;
  }
  // Drain so that the messages already received are handled before the owner frees what the callback uses.
  if (natsSubscription_Drain(sub_) == NATS_OK) natsSubscription_WaitForDrainCompletion(sub_, 2000);
  retired_->RetireSubscription(sub_);
  // And wait for nats.c's last call, so no callback runs once this returns and nothing is left at exit.
  std::unique_lock<std::mutex> lock(delivery_->mu);
  delivery_->completed_cv.wait_for(lock, std::chrono::seconds(2), [this] { return delivery_->completed; });
}

Result<std::unique_ptr<NatsConnection::Subscription>> NatsConnection::Subscribe(const std::string& subject,
                                                                                SubscriptionCallback callback) {
  std::unique_ptr<Subscription> sub(new Subscription());
  sub->retired_ = retired_;
  sub->delivery_ = std::make_shared<Subscription::Delivery>();
  sub->delivery_->callback = std::move(callback);
  auto* closure = new DeliveryShare(sub->delivery_);
  natsSubscription* raw = nullptr;
  natsStatus s = natsConnection_Subscribe(&raw, nc_, subject.c_str(), &OnSubscriptionMessage, closure);
  if (s != NATS_OK) {
    delete closure;
    return StatusFromNats(s, "subscribe");
  }
  s = natsSubscription_SetOnCompleteCB(raw, &OnSubscriptionComplete, closure);
  if (s != NATS_OK) {
    // Closed already (the connection went away): the closure stays (a one-off leak, never a dangling pointer).
    retired_->RetireSubscription(raw);
    return StatusFromNats(s, "subscribe");
  }
  sub->sub_ = raw;
  return sub;
}

}  // namespace ironflow::server
