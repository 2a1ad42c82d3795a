// Plain HTTP request/response values passed between the HTTP module and the API routes.
//
// Nothing here depends on Beast/Asio, so the routes and tests never compile them. Header names are stored
// lower-case. A response with `stream` set is a streaming (Server-Sent Events) response: the server sends the
// headers, then every chunk the EventStream yields, until it closes or the client goes away. A response with
// `pending` set is answered later, when its PendingResponse has an answer (long polls).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ironflow {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The segments of a request path ("/api/v1/x/" -> "api", "v1", "x": one trailing slash is tolerated); empty
// when `path` does not start with '/'. Views into `path`.
std::vector<std::string_view> PathSegments(std::string_view path);

struct HttpRequest {
  std::string method;  // "GET", "PUT", ...
  std::string path;    // raw (still percent-encoded) path, without the query
  std::string query;   // raw query string, without '?'
  HeaderList headers;  // names lower-case
  std::string body;
  std::string remote_address;

  std::optional<std::string> header(std::string_view lower_name) const;
  // Percent-decoded value of the first `name=` query parameter.
  std::optional<std::string> query_param(std::string_view name) const;
};

// A source of chunks for a streaming response. Thread-safe: producers Push from any thread.
class EventStream {
 public:
  explicit EventStream(size_t max_queued = 1024) : max_queued_(max_queued) {}
  // Queues a chunk and wakes the writer. A consumer that falls max_queued chunks behind is cut off.
  void Push(std::string chunk);
  void Close();
  // Server side: installs the wake-up function (called after every Push/Close, from the pushing thread).
  void SetWakeup(std::function<void()> wake);
  // Server side: takes every queued chunk; `closed` tells whether the stream is over.
  std::vector<std::string> Drain(bool* closed);
  std::chrono::milliseconds heartbeat_interval = std::chrono::seconds(15);
  std::string heartbeat_chunk = ": heartbeat\n\n";
  // Held for as long as the stream lives (e.g. the NATS subscription feeding it).
  std::shared_ptr<void> keep_alive;

 private:
  std::mutex mu_;
  std::deque<std::string> queue_;
  std::function<void()> wake_;
  bool closed_ = false;
  size_t max_queued_;
};

struct HttpResponse;

// A response that is not ready yet (a long poll). The server holds the connection without a thread: it waits
// until Notify() is called (from any thread; it must be cheap), `recheck_every` passes or `deadline` comes, then
// calls `poll` on a handler thread. `poll(last)` returns the answer, or nullopt to keep waiting; with `last` set
// (deadline reached, or the server is stopping) it must answer. Notify() before the server starts waiting is
// remembered, so a wake-up between the handler's first look and the wait is never lost.
class PendingResponse {
 public:
  std::function<std::optional<HttpResponse>(bool last)> poll;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds recheck_every{5000};
  // Held for as long as the response is pending (e.g. the registration that calls Notify()).
  std::shared_ptr<void> keep_alive;

  void Notify();
  // Server side: installs the wake-up function; returns (and clears) whether Notify() came since the last call.
  bool SetWakeup(std::function<void()> wake);
  bool TakeNotified();

 private:
  std::mutex mu_;
  std::function<void()> wake_;
  bool notified_ = false;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  HeaderList headers;
  std::string body;
  std::shared_ptr<EventStream> stream;
  std::shared_ptr<PendingResponse> pending;  // set: answer later (see PendingResponse)
};

std::string PercentDecode(std::string_view in);

// Client side of Server-Sent Events: collects streamed bytes and hands out each complete frame (the text before a
// blank line, without it). Feed returns false as soon as on_frame does (the reader should stop).
class SseFrames {
 public:
  template <typename OnFrame>
  bool Feed(std::string_view data, OnFrame&& on_frame) {
    buffer_.append(data);
    size_t end;
    while ((end = buffer_.find("\n\n")) != std::string::npos) {
      std::string frame = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      if (!on_frame(std::move(frame))) return false;
    }
    return true;
  }

 private:
  std::string buffer_;
};

}  // namespace ironflow
