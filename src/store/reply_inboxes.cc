#include "store/reply_inboxes.h"

#include <chrono>
#include <string_view>
#include <utility>

namespace ironflow::server {

ReplyInboxes::Round::Round(Round&& other) noexcept { *this = std::move(other); }

ReplyInboxes::Round& ReplyInboxes::Round::operator=(Round&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    sub_ = std::move(other.sub_);
    inbox_ = std::move(other.inbox_);
    prefix_ = std::move(other.prefix_);
    broken_ = std::exchange(other.broken_, false);
  }
  return *this;
}

ReplyInboxes::Round::~Round() { Release(); }

void ReplyInboxes::Round::Release() {
  if (owner_ != nullptr && sub_ && !broken_) owner_->Return(std::move(sub_), std::move(inbox_));
  sub_.reset();
  owner_ = nullptr;
}

natsStatus ReplyInboxes::Round::Next(nats::MsgPtr* msg, int64_t timeout_ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return NATS_TIMEOUT;
    natsMsg* raw = nullptr;
    natsStatus s = natsSubscription_NextMsg(&raw, sub_.get(), left);
    if (s != NATS_OK) {
      if (s != NATS_TIMEOUT) broken_ = true;
      return s;
    }
    nats::MsgPtr got(raw);
    const std::string_view subject = natsMsg_GetSubject(got.get());
    // `<prefix>.`: a reply of an earlier round on this subscription (late) has another number there.
    if (subject.size() > prefix_.size() && subject.compare(0, prefix_.size(), prefix_) == 0 &&
        subject[prefix_.size()] == '.') {
      *msg = std::move(got);
      return NATS_OK;
    }
  }
}

natsStatus ReplyInboxes::Begin(Round* round) {
  Round r;
  r.owner_ = this;
  uint64_t n = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    n = ++rounds_;
    if (!idle_.empty()) {
      r.sub_ = std::move(idle_.back().sub);
      r.inbox_ = std::move(idle_.back().inbox);
      idle_.pop_back();
    }
  }
  if (!r.sub_) {
    natsStatus s = nats::SubscribeNewInbox(nc_, ".>", retired_, &r.inbox_, &r.sub_);
    if (s != NATS_OK) {
      r.broken_ = true;
      return s;
    }
  }
  r.prefix_ = r.inbox_ + "." + std::to_string(n);
  *round = std::move(r);
  return NATS_OK;
}

size_t ReplyInboxes::idle() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_.size();
}

void ReplyInboxes::Return(nats::SubscriptionPtr sub, std::string inbox) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < kMaxIdle) {
      idle_.push_back(Idle{std::move(sub), std::move(inbox)});
      return;
    }
  }
  sub.reset();  // more than the pool keeps: unsubscribed here, outside the lock
}

}  // namespace ironflow::server
