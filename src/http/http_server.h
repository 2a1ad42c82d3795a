// HttpServer: the HTTP/1.1 server (Boost.Beast over Asio, C++20 coroutines) behind the API and dashboard.
//
// Each connection is a coroutine on its own strand; the handler is called synchronously on an I/O thread (it
// may block on NATS), so the pool has `threads` threads. Limits enforced here, before any handler runs:
// header size 16 KiB, body size `max_body_bytes` (413 with a JSON error), idle/read timeout. A handler that
// throws yields a 500 JSON error; the server never crashes on input. Stop() stops accepting, gives in-flight
// requests up to 5 s, then closes every connection. Beast/Asio appear only in the .cc files of src/http.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "http/http_message.h"

namespace ironflow {

class HttpServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 9123;  // 0: any free port (see port())
    int threads = 16;
    size_t max_body_bytes = 1024 * 1024;
    std::chrono::seconds read_timeout{30};
  };
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  HttpServer(Options options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving. Fails with a clear message if the address is unusable.
  Status Start();
  void Stop();
  // The bound port (useful with port 0).
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ironflow
