// HttpServer: the HTTP/1.1 server (Boost.Beast over Asio, C++20 coroutines) behind the API and dashboard.
//
// Each connection is a coroutine on its own strand, run by `io_threads` I/O threads. The handler may block (on
// NATS), so it runs on a separate pool of `threads` handler threads while the connection waits without a thread;
// requests `runs_inline` accepts (cheap, never blocking: probes, static files) are answered on the I/O thread
// directly. A response with `pending` (a long poll) and a streaming response wait asynchronously too: an idle
// waiter costs a socket and a little memory, never a thread. Limits enforced here, before any handler runs:
// header size 16 KiB, body size `max_body_bytes` (413 with a JSON error), idle/read timeout. A handler that
// throws yields a 500 JSON error; the server never crashes on input. Stop() stops accepting, gives in-flight
// requests up to 5 s (pending long polls are answered within a second), then closes every connection. With a
// certificate and key it serves HTTPS only (TLS 1.2 or later, HSTS on every answer); a client that fails the handshake
// is dropped without an answer. Beast/Asio appear only in the .cc files of src/http.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "http/http_message.h"

namespace ironflow {

class HttpServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 9123;     // 0: any free port (see port())
    int threads = 16;    // handler threads (handlers may block on NATS)
    int io_threads = 1;  // I/O threads (never block)
    // Requests answered on the I/O thread, without a hand-off (must not block). Null: none.
    std::function<bool(const HttpRequest&)> runs_inline;
    size_t max_body_bytes = 1024 * 1024;
    std::chrono::seconds read_timeout{30};
    // PEM files; both or neither. Set: HTTPS.
    std::string tls_cert_file;
    std::string tls_key_file;
    // Reverse proxies (IP addresses or CIDR networks) whose X-Forwarded-For names the client: see
    // TrustedProxies. Empty: the TCP peer is the client.
    std::vector<std::string> trusted_proxies;
  };
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  HttpServer(Options options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads the TLS certificate and key (if any), binds and starts serving. Fails with a clear message if the
  // certificate or key cannot be used (or do not match) or the address is unusable.
  Status Start();
  void Stop();
  // The bound port (useful with port 0).
  int port() const;
  // Loads `options`' certificate and key as Start() would (to refuse a bad configuration early).
  static Status CheckTls(const Options& options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ironflow
