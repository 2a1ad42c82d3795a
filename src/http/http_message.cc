#include "http/http_message.h"

namespace ironflow {

std::optional<std::string> HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return std::nullopt;
}

std::vector<std::string_view> PathSegments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path[0] != '/') return out;
  for (size_t start = 1; start <= path.size();) {
    const size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (out.size() > 1 && out.back().empty()) out.pop_back();
  return out;
}

std::optional<std::string> HttpRequest::query_param(std::string_view name) const {
  size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    size_t amp = query.find('&', start);
    std::string_view pair =
        std::string_view(query).substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    size_t eq = pair.find('=');
    std::string key = PercentDecode(pair.substr(0, eq));
    if (key == name) return eq == std::string_view::npos ? std::string() : PercentDecode(pair.substr(eq + 1));
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return std::nullopt;
}

std::string PercentDecode(std::string_view in) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else if (in[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

void PendingResponse::Notify() {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = true;
    wake = wake_;
  }
  if (wake) wake();
}

bool PendingResponse::SetWakeup(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mu_);
  wake_ = std::move(wake);
  bool was = notified_;
  notified_ = false;
  return was;
}

bool PendingResponse::TakeNotified() {
  std::lock_guard<std::mutex> lock(mu_);
  bool was = notified_;
  notified_ = false;
  return was;
}

void EventStream::Push(std::string chunk) {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    if (queue_.size() >= max_queued_) {
      closed_ = true;  // the consumer is too slow; end the stream rather than grow without bound
    } else {
      queue_.push_back(std::move(chunk));
    }
    wake = wake_;
  }
  if (wake) wake();
}

void EventStream::Close() {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    wake = wake_;
  }
  if (wake) wake();
}

void EventStream::SetWakeup(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mu_);
  wake_ = std::move(wake);
}

std::vector<std::string> EventStream::Drain(bool* closed) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  *closed = closed_;
  return out;
}

}  // namespace ironflow
