#include "http/http_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "crypto/secure_bytes.h"
#include "http/client_address.h"
#include "http/read_buffer.h"
#include "http/request_framing.h"

namespace ironflow {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;

namespace {

// The TCP layer under a plain or TLS stream (deadlines, shutdown).
beast::tcp_stream& Tcp(beast::tcp_stream& s) { return s; }
beast::tcp_stream& Tcp(beast::ssl_stream<beast::tcp_stream>& s) { return beast::get_lowest_layer(s); }

std::string JsonError(std::string_view code, std::string_view message) {
  return std::string(R"({"error":{"code":")") + std::string(code) + R"(","message":")" + std::string(message) + "\"}}";
}

HttpRequest ToRequest(const http::request<http::string_body>& req, const std::string& remote) {
  HttpRequest r;
  r.method = std::string(req.method_string());
  std::string_view target = req.target();
  size_t q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  r.body = req.body();
  r.remote_address = remote;
  return r;
}

Status CheckFraming(const http::request<http::string_body>& req) {
  std::vector<std::string_view> te, cl;
  for (const auto& f : req) {
    if (f.name() == http::field::transfer_encoding) te.push_back(f.value());
    if (f.name() == http::field::content_length) cl.push_back(f.value());
  }
  return CheckRequestFraming(te, cl, static_cast<int>(req.version()));
}

// Every X-Forwarded-For value of the request, joined with commas in the order received (nullopt: none).
std::optional<std::string> ForwardedFor(const HttpRequest& r) {
  std::optional<std::string> out;
  for (const auto& [name, value] : r.headers) {
    if (name != "x-forwarded-for") continue;
    out = out ? *out + "," + value : value;
  }
  return out;
}

// Loads the certificate chain and key into `ctx` (TLS 1.2 or later) and checks that they belong together.
Status LoadServerTls(const HttpServer::Options& o, ssl::context& ctx) {
  if (o.tls_cert_file.empty() || o.tls_key_file.empty()) {
    return Status::InvalidArgument("TLS needs both a certificate (--tls-cert) and its private key (--tls-key)");
  }
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(o.tls_cert_file, ec);
  if (ec) return Status::InvalidArgument("cannot load TLS certificate " + o.tls_cert_file + ": " + ec.message());
  ctx.use_private_key_file(o.tls_key_file, ssl::context::pem, ec);
  if (ec) return Status::InvalidArgument("cannot load TLS private key " + o.tls_key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    return Status::InvalidArgument("the TLS private key " + o.tls_key_file + " does not match the certificate " +
                                   o.tls_cert_file);
  }
  return Status::Ok();
}

}  // namespace

Status HttpServer::CheckTls(const Options& options) {
  ssl::context ctx(ssl::context::tls_server);
  return LoadServerTls(options, ctx);
}

struct HttpServer::Impl {
  Options options;
  TrustedProxies proxies;
  Handler handler;
  asio::io_context ioc;
  std::optional<ssl::context> tls;  // set when serving HTTPS
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;                  // I/O threads
  std::optional<asio::thread_pool> handler_threads;  // where handlers run (they may block)
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};
  int bound_port = 0;

  HttpResponse SafeHandle(const HttpRequest& req) {
    try {
      return handler(req);
    } catch (const std::exception& e) {
      spdlog::error("handler for {} {} threw: {}", req.method, req.path, e.what());
    } catch (...) {
      spdlog::error("handler for {} {} threw a non-standard exception", req.method, req.path);
    }
    HttpResponse res;
    res.status = 500;
    res.body = JsonError("internal", "internal error");
    return res;
  }

  // Runs `f` on a handler thread; the awaiting connection resumes on its own strand with the answer. (Not a
  // coroutine itself: GCC 12 mishandles temporaries passed to coroutine parameters.)
  template <typename F>
  auto OnHandlerThread(F f) {
    return asio::async_initiate<decltype(asio::use_awaitable), void(HttpResponse)>(
        [this, f = std::move(f)](auto handler) mutable {
          auto strand = asio::get_associated_executor(handler);
          asio::post(*handler_threads, [f = std::move(f), handler = std::move(handler), strand]() mutable {
            HttpResponse answer = f();
            asio::post(strand, [handler = std::move(handler), answer = std::move(answer)]() mutable {
              std::move(handler)(std::move(answer));
            });
          });
        },
        asio::use_awaitable);
  }

  std::function<HttpResponse()> HandleLater(const HttpRequest& request) {
    return [this, &request] { return SafeHandle(request); };
  }

  HttpResponse SafePoll(PendingResponse& p, bool last) {
    try {
      if (auto r = p.poll(last)) return std::move(*r);
      if (!last) {
        HttpResponse keep_waiting;
        keep_waiting.status = 0;
        return keep_waiting;
      }
    } catch (const std::exception& e) {
      spdlog::error("long poll threw: {}", e.what());
    } catch (...) {
      spdlog::error("long poll threw a non-standard exception");
    }
    HttpResponse res;
    res.status = last ? 204 : 500;
    if (!last) res.body = JsonError("internal", "internal error");
    return res;
  }

  // Waits for a pending response without holding a thread: until it is notified, its recheck interval passes or
  // its deadline comes (then asks for the final answer). Wakes at least once a second to notice Stop().
  // `p` is owned by the caller for the whole wait. (Lambdas are built by WakeUpOnStrand and PollOnce, outside the
  // coroutine: GCC 12 corrupts lambda temporaries that capture coroutine locals.)
  asio::awaitable<HttpResponse> AwaitPending(PendingResponse& p) {
    auto executor = co_await asio::this_coro::executor;
    auto timer = std::make_shared<asio::steady_timer>(executor);
    auto woken = std::make_shared<bool>(false);
    // The wake-up runs on this connection's strand, so it cannot race with the loop below.
    const bool notified_before = p.SetWakeup(WakeUpOnStrand(timer, woken, executor));
    *woken = notified_before;
    auto next_check = std::chrono::steady_clock::now() + p.recheck_every;
    HttpResponse answer;
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      const bool last = stopping || now >= p.deadline;
      if (!*woken && !last && now < next_check) {
        timer->expires_at(std::min({p.deadline, next_check, now + std::chrono::seconds(1)}));
        boost::system::error_code ec;
        co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      *woken = false;
      next_check = now + p.recheck_every;
      auto poll = PollOnce(p, last);  // a named object, not a temporary, across the suspension
      answer = co_await OnHandlerThread(std::move(poll));
      if (answer.status != 0) break;
    }
    p.SetWakeup(nullptr);
    co_return answer;
  }

  static std::function<void()> WakeUpOnStrand(const std::shared_ptr<asio::steady_timer>& timer,
                                              const std::shared_ptr<bool>& woken, asio::any_io_executor executor) {
    std::weak_ptr<asio::steady_timer> weak_timer = timer;
    return [weak_timer, woken, executor] {
      asio::post(executor, [weak_timer, woken] {
        *woken = true;
        if (auto t = weak_timer.lock()) t->cancel();
      });
    };
  }

  std::function<HttpResponse()> PollOnce(PendingResponse& p, bool last) {
    return [this, &p, last] { return SafePoll(p, last); };
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket =
          co_await acceptor.async_accept(asio::make_strand(ioc), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) co_return;
        continue;
      }
      auto exec = socket.get_executor();
      asio::co_spawn(exec, Session(std::move(socket)), asio::detached);
    }
  }

  template <typename S>
  asio::awaitable<void> WriteSimple(S& stream, int status, std::string body, bool* ok) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::connection, "close");
    res.body() = std::move(body);
    res.prepare_payload();
    boost::system::error_code ec;
    Tcp(stream).expires_after(std::chrono::seconds(10));
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    *ok = !ec;
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    std::string remote;
    {
      boost::system::error_code ec;
      auto ep = socket.remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string();
    }
    boost::system::error_code ec;
    // Answers and SSE chunks are small writes: without this, Nagle holds one back until the client's delayed ACK.
    socket.set_option(tcp::no_delay(true), ec);
    if (!tls) {
      beast::tcp_stream stream(std::move(socket));
      bool unread_input = false;
      co_await Serve(stream, remote, &unread_input);
      if (unread_input) co_await DiscardUnreadInput(stream);
      stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls);
    Tcp(stream).expires_after(std::chrono::seconds(10));
    co_await stream.async_handshake(ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      // Plain HTTP to the TLS port, an untrusting client, a scanner: nothing to answer over a channel we lack.
      spdlog::debug("TLS handshake from {} failed: {}", remote, ec.message());
      Tcp(stream).socket().close(ec);
      co_return;
    }
    bool unread_input = false;  // TLS: the close_notify exchange below ends the connection in order
    co_await Serve(stream, remote, &unread_input);
    Tcp(stream).expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    Tcp(stream).socket().close(ec);
  }

  // Lingering close, as nginx does it: after an answer to a request whose body was not read (413, a framing
  // error), stop sending and discard what the client still sends for a moment. Closing with unread bytes would
  // make the kernel reset the connection, and the client could lose the answer before reading it.
  asio::awaitable<void> DiscardUnreadInput(beast::tcp_stream& stream) {
    constexpr size_t kMaxDiscardBytes = 16 * 1024 * 1024;
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::vector<char> scratch(64 * 1024);
    size_t discarded = 0;
    stream.expires_after(std::chrono::seconds(2));
    while (!ec && discarded < kMaxDiscardBytes && !stopping) {
      discarded +=
          co_await stream.async_read_some(asio::buffer(scratch), asio::redirect_error(asio::use_awaitable, ec));
    }
    OPENSSL_cleanse(scratch.data(), scratch.size());  // request bytes: may hold a secret value
  }

  // Reads requests and answers them until the client leaves, an error, a streaming response or Stop().
  // `unread_input` is set when it answered before reading the whole request (the client may still be sending).
  template <typename S>
  asio::awaitable<void> Serve(S& stream, const std::string& remote, bool* unread_input) {
    beast::flat_buffer buffer;
    // However the connection ends (error, oversized body, stream), its read buffer is wiped before it is freed.
    struct WipeOnExit {
      beast::flat_buffer& b;
      ~WipeOnExit() { WipeReadBuffer(b); }
    } wipe_on_exit{buffer};
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(options.max_body_bytes);
      boost::system::error_code ec;
      Tcp(stream).expires_after(options.read_timeout);
      // Headers first: a request whose framing a proxy could read differently is refused before its body.
      co_await http::async_read_header(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      bool ok = false;
      if (!ec) {
        if (Status framing = CheckFraming(parser.get()); !framing.ok()) {
          co_await WriteSimple(stream, 400, JsonError("invalid_argument", framing.message()), &ok);
          *unread_input = true;
          break;
        }
        if (!parser.is_done()) {
          co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
        }
      }
      if (ec == http::error::body_limit) {
        co_await WriteSimple(
            stream, 413,
            JsonError("payload_too_large", "request body exceeds " + std::to_string(options.max_body_bytes) + " bytes"),
            &ok);
        *unread_input = true;
        break;
      }
      if (ec == http::error::header_limit) {
        co_await WriteSimple(stream, 431, JsonError("invalid_argument", "request headers too large"), &ok);
        *unread_input = true;
        break;
      }
      if (ec) {
        // A parse error on a request that started arriving deserves an answer; a closed or idle connection does not.
        if (ec != http::error::end_of_stream && ec != beast::error::timeout && ec != asio::error::eof &&
            ec != asio::error::connection_reset && ec != asio::error::operation_aborted && parser.got_some()) {
          co_await WriteSimple(stream, 400, JsonError("invalid_argument", "malformed HTTP request"), &ok);
          *unread_input = true;
        }
        break;
      }

      auto& req = parser.get();
      const bool keep_alive = req.keep_alive();
      in_flight.fetch_add(1);
      HttpRequest request = ToRequest(req, remote);
      if (!proxies.empty()) request.remote_address = proxies.ClientAddress(remote, ForwardedFor(request));
      HttpResponse resp;
      // (Not a conditional expression: GCC 12 mishandles co_await inside ?: and corrupts the result.)
      if (options.runs_inline && options.runs_inline(request)) {
        resp = SafeHandle(request);
      } else {
        auto handle = HandleLater(request);  // a named object, not a temporary, across the suspension
        resp = co_await OnHandlerThread(std::move(handle));
      }
      // Request bodies may carry secret values (PUT /secrets): wipe both copies once handled, and the raw bytes
      // they were parsed from.
      Cleanse(request.body);
      Cleanse(req.body());
      WipeReadBuffer(buffer);
      if (resp.pending) {
        std::shared_ptr<PendingResponse> pending = std::move(resp.pending);
        resp = co_await AwaitPending(*pending);
      }

      if (!resp.stream) {
        http::response<http::string_body> res{static_cast<http::status>(resp.status), req.version()};
        res.set(http::field::server, "ironflow");
        res.set(http::field::content_type, resp.content_type);
        res.set(http::field::cache_control, "no-store");
        res.set("X-Content-Type-Options", "nosniff");
        if (tls) res.set(http::field::strict_transport_security, "max-age=31536000");
        for (const auto& [k, v] : resp.headers) res.set(k, v);
        // Every "not now" answer says when to come back (RFC 9110 §10.2.3), 1 s unless the handler said otherwise.
        if ((resp.status == 429 || resp.status == 503) && res.find(http::field::retry_after) == res.end()) {
          res.set(http::field::retry_after, "1");
        }
        res.keep_alive(keep_alive && !stopping);
        res.body() = std::move(resp.body);
        res.prepare_payload();
        Tcp(stream).expires_after(std::chrono::seconds(30));
        co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        // Job deliveries carry secret values: no response body outlives its write.
        Cleanse(res.body());
        in_flight.fetch_sub(1);
        if (ec || !keep_alive || stopping) break;
        continue;
      }
      in_flight.fetch_sub(1);
      co_await Stream(stream, req.version(), resp);
      break;
    }
  }

  // Serves a streaming response with chunked encoding until the stream closes, the client leaves or we stop.
  template <typename S>
  asio::awaitable<void> Stream(S& stream, unsigned version, HttpResponse& resp) {
    http::response<http::empty_body> res{static_cast<http::status>(resp.status), version};
    res.set(http::field::server, "ironflow");
    res.set(http::field::content_type, resp.content_type);
    res.set(http::field::cache_control, "no-store");
    res.set("X-Accel-Buffering", "no");
    for (const auto& [k, v] : resp.headers) res.set(k, v);
    res.chunked(true);
    res.keep_alive(false);
    http::response_serializer<http::empty_body> sr{res};
    boost::system::error_code ec;
    Tcp(stream).expires_after(std::chrono::seconds(30));
    co_await http::async_write_header(stream, sr, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      // As below: release the producer while we still hold the stream.
      resp.stream->Close();
      resp.stream->keep_alive.reset();
      co_return;
    }

    auto executor = co_await asio::this_coro::executor;
    auto timer = std::make_shared<asio::steady_timer>(executor);
    auto woken = std::make_shared<bool>(false);
    std::shared_ptr<EventStream> es = resp.stream;
    // The wake-up runs on this session's strand, so it cannot race with the loop below.
    es->SetWakeup(WakeUpOnStrand(timer, woken, executor));

    for (;;) {
      bool closed = false;
      for (auto& chunk : es->Drain(&closed)) {
        Tcp(stream).expires_after(std::chrono::seconds(30));
        co_await asio::async_write(stream, http::make_chunk(asio::buffer(chunk)),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
      }
      if (ec || closed || stopping) break;
      if (*woken) {
        *woken = false;
        continue;
      }
      timer->expires_after(es->heartbeat_interval);
      co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopping) break;
      if (!ec) {  // timer expired: heartbeat (also how we notice a client that went away)
        Tcp(stream).expires_after(std::chrono::seconds(30));
        co_await asio::async_write(stream, http::make_chunk(asio::buffer(es->heartbeat_chunk)),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
      }
      ec = {};
      *woken = false;
    }
    es->SetWakeup(nullptr);
    es->Close();
    // Release the producer (e.g. the NATS subscription) here, while we still hold the stream, so that a producer
    // callback never ends up destroying its own subscription.
    es->keep_alive.reset();
    if (!ec) {
      Tcp(stream).expires_after(std::chrono::seconds(5));
      co_await asio::async_write(stream, http::make_chunk_last(), asio::redirect_error(asio::use_awaitable, ec));
    }
  }
};

HttpServer::HttpServer(Options options, Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  boost::system::error_code ec;
  auto proxies = TrustedProxies::Parse(impl_->options.trusted_proxies);
  if (!proxies.ok()) return proxies.status();
  impl_->proxies = std::move(proxies).value();
  if (!impl_->options.tls_cert_file.empty() || !impl_->options.tls_key_file.empty()) {
    IF_RETURN_IF_ERROR(LoadServerTls(impl_->options, impl_->tls.emplace(ssl::context::tls_server)));
  }
  auto address = asio::ip::make_address(impl_->options.host, ec);
  if (ec) return Status::InvalidArgument("invalid --host address: " + impl_->options.host);
  tcp::endpoint endpoint(address, static_cast<unsigned short>(impl_->options.port));
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("cannot listen on " + impl_->options.host + ":" + std::to_string(impl_->options.port) +
                               ": " + ec.message());
  }
  impl_->bound_port = impl_->acceptor.local_endpoint().port();
  impl_->handler_threads.emplace(static_cast<size_t>(std::max(1, impl_->options.threads)));
  asio::co_spawn(impl_->ioc, impl_->Accept(), asio::detached);
  int n = std::max(1, impl_->options.io_threads);
  for (int i = 0; i < n; ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!impl_ || impl_->threads.empty()) return;
  impl_->stopping = true;
  asio::post(impl_->acceptor.get_executor(), [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (impl_->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->handler_threads->stop();
  impl_->handler_threads->join();
}

int HttpServer::port() const { return impl_->bound_port; }

}  // namespace ironflow
