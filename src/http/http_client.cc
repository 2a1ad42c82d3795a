#include "http/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace ironflow {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;

std::optional<std::string> ClientResponse::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return std::nullopt;
}

struct HttpClient::Impl {
  std::string scheme;  // "http" or "https"
  std::string host;
  std::string port;
  asio::io_context ioc;
  std::optional<ssl::context> tls;  // set for https://
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  bool connected() const { return plain || secure; }
  beast::tcp_stream& Lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  // Calls f with the connected stream (TLS or plain), so one code path serves both.
  template <typename F>
  void With(F&& f) {
    if (secure)
      f(*secure);
    else
      f(*plain);
  }

  std::string Origin() const { return scheme + "://" + host + ":" + port; }

  Status EnsureConnected() {
    if (connected() && Lowest().socket().is_open()) return Status::Ok();
    Disconnect();
    boost::system::error_code ec;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, port, ec);
    if (ec) return Status::Unavailable("cannot resolve " + host + ": " + ec.message());
    if (tls)
      secure.emplace(ioc, *tls);
    else
      plain.emplace(ioc);
    Lowest().expires_after(std::chrono::seconds(10));
    Lowest().connect(results, ec);
    if (ec) {
      Disconnect();
      return Status::Unavailable("cannot connect to " + Origin() + ": " + ec.message());
    }
    Lowest().socket().set_option(tcp::no_delay(true), ec);
    if (secure) {
      // SNI for host names (not for IP literals), and the certificate must name the host we asked for.
      boost::system::error_code ip_ec;
      (void)asio::ip::make_address(host, ip_ec);
      if (ip_ec && !SSL_set_tlsext_host_name(secure->native_handle(), host.c_str())) {
        Disconnect();
        return Status::Unavailable("cannot set TLS server name " + host);
      }
      secure->set_verify_callback(ssl::host_name_verification(host));
      ec = Run([&](auto h) { secure->async_handshake(ssl::stream_base::client, h); });
      if (ec) {
        Disconnect();
        return Status::Unavailable("TLS handshake with " + Origin() + " failed: " + ec.message() +
                                   " (to trust a private CA pass --ca-file or set IRONFLOW_CA_FILE)");
      }
    }
    buffer.clear();
    return Status::Ok();
  }

  void Disconnect() {
    if (connected()) {
      boost::system::error_code ec;
      Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
      Lowest().socket().close(ec);
    }
    secure.reset();
    plain.reset();
    buffer.clear();
  }

  // Runs one async operation to completion on this client's io_context, so tcp_stream deadlines apply.
  template <typename Start>
  boost::system::error_code Run(Start start) {
    boost::system::error_code result;
    start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  http::request<http::string_body> MakeRequest(std::string_view method, std::string_view target,
                                               const HeaderList& headers, std::string_view body) {
    http::request<http::string_body> req;
    req.method(http::string_to_verb(method));
    if (req.method() == http::verb::unknown) req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, host + ":" + port);
    req.set(http::field::user_agent, "ironflow-cli");
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      req.body() = std::string(body);
      req.prepare_payload();
    }
    return req;
  }
};

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {}
HttpClient::~HttpClient() { impl_->Disconnect(); }

Result<std::unique_ptr<HttpClient>> HttpClient::Create(std::string_view base_url, const std::string& ca_file) {
  std::string_view scheme;
  for (std::string_view candidate : {"http://", "https://"}) {
    if (base_url.substr(0, candidate.size()) == candidate) scheme = candidate;
  }
  if (scheme.empty()) return Status::InvalidArgument("server URL must start with http:// or https://");
  const bool https = scheme == "https://";
  std::string_view rest = base_url.substr(scheme.size());
  rest = rest.substr(0, rest.find('/'));
  std::unique_ptr<HttpClient> c(new HttpClient());
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || (rest.find(']') != std::string_view::npos && colon < rest.find(']'))) {
    c->impl_->host = std::string(rest);
    c->impl_->port = https ? "443" : "80";
  } else {
    c->impl_->host = std::string(rest.substr(0, colon));
    c->impl_->port = std::string(rest.substr(colon + 1));
  }
  if (!c->impl_->host.empty() && c->impl_->host.front() == '[') {
    c->impl_->host = c->impl_->host.substr(1, c->impl_->host.size() - 2);
  }
  if (c->impl_->host.empty() || c->impl_->port.empty()) return Status::InvalidArgument("malformed server URL");
  c->impl_->scheme = https ? "https" : "http";
  if (https) {
    auto& ctx = c->impl_->tls.emplace(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.set_verify_mode(ssl::verify_peer);
    boost::system::error_code ec;
    if (ca_file.empty())
      ctx.set_default_verify_paths(ec);
    else
      ctx.load_verify_file(ca_file, ec);
    if (ec) return Status::InvalidArgument("cannot use CA file " + ca_file + ": " + ec.message());
  }
  return c;
}

Result<ClientResponse> HttpClient::Send(std::string_view method, std::string_view target, const HeaderList& headers,
                                        std::string_view body, int timeout_ms) {
  auto req = impl_->MakeRequest(method, target, headers, body);
  for (int attempt = 0; attempt < 2; ++attempt) {
    IF_RETURN_IF_ERROR(impl_->EnsureConnected());
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    impl_->Lowest().expires_after(std::chrono::milliseconds(timeout_ms));
    boost::system::error_code ec;
    impl_->With([&](auto& s) {
      ec = impl_->Run([&](auto h) { http::async_write(s, req, h); });
      if (!ec) ec = impl_->Run([&](auto h) { http::async_read(s, impl_->buffer, parser, h); });
    });
    if (ec) {
      impl_->Disconnect();
      // A kept-alive connection the server already closed: retry once on a fresh one.
      if (attempt == 0 &&
          (ec == http::error::end_of_stream || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == asio::error::eof || ec == ssl::error::stream_truncated)) {
        continue;
      }
      return Status::Unavailable("request to " + impl_->Origin() + " failed: " + ec.message());
    }
    auto& res = parser.get();
    ClientResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      out.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) impl_->Disconnect();
    return out;
  }
  return Status::Unavailable("request failed");
}

Status HttpClient::Stream(std::string_view target, const HeaderList& headers, const std::function<void(int)>& on_status,
                          const std::function<bool(std::string_view)>& on_data, int timeout_ms) {
  impl_->Disconnect();
  IF_RETURN_IF_ERROR(impl_->EnsureConnected());
  auto req = impl_->MakeRequest("GET", target, headers, {});
  auto& lowest = impl_->Lowest();
  lowest.expires_after(std::chrono::seconds(30));
  boost::system::error_code ec;
  impl_->With([&](auto& s) { ec = impl_->Run([&](auto h) { http::async_write(s, req, h); }); });
  if (ec) return Status::Unavailable("stream request failed: " + ec.message());

  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  auto expire = [&] {
    if (timeout_ms > 0)
      lowest.expires_after(std::chrono::milliseconds(timeout_ms));
    else
      lowest.expires_never();
  };
  expire();
  impl_->With([&](auto& s) { ec = impl_->Run([&](auto h) { http::async_read_header(s, impl_->buffer, parser, h); }); });
  if (ec) {
    impl_->Disconnect();
    return Status::Unavailable("stream failed: " + ec.message());
  }
  on_status(static_cast<int>(parser.get().result_int()));
  char buf[8192];
  while (!parser.is_done()) {
    parser.get().body().data = buf;
    parser.get().body().size = sizeof buf;
    expire();
    impl_->With([&](auto& s) { ec = impl_->Run([&](auto h) { http::async_read_some(s, impl_->buffer, parser, h); }); });
    if (ec == http::error::need_buffer) ec = {};
    size_t n = sizeof buf - parser.get().body().size;
    if (n > 0 && !on_data(std::string_view(buf, n))) break;
    if (ec) {
      impl_->Disconnect();
      if (ec == beast::error::timeout) return Status::Unavailable("stream timed out");
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == ssl::error::stream_truncated) {
        return Status::Ok();
      }
      return Status::Unavailable("stream ended: " + ec.message());
    }
  }
  impl_->Disconnect();
  return Status::Ok();
}

}  // namespace ironflow
