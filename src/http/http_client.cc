#include "http/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ironflow {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::optional<std::string> ClientResponse::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return std::nullopt;
}

struct HttpClient::Impl {
  std::string host;
  std::string port;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  Status EnsureConnected() {
    if (stream && stream->socket().is_open()) return Status::Ok();
    boost::system::error_code ec;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, port, ec);
    if (ec) return Status::Unavailable("cannot resolve " + host + ": " + ec.message());
    stream.emplace(ioc);
    stream->expires_after(std::chrono::seconds(10));
    stream->connect(results, ec);
    if (ec) {
      stream.reset();
      return Status::Unavailable("cannot connect to http://" + host + ":" + port + ": " + ec.message());
    }
    stream->socket().set_option(tcp::no_delay(true), ec);
    buffer.clear();
    return Status::Ok();
  }

  void Disconnect() {
    if (stream) {
      boost::system::error_code ec;
      stream->socket().shutdown(tcp::socket::shutdown_both, ec);
      stream->socket().close(ec);
      stream.reset();
    }
    buffer.clear();
  }

  // Runs one async operation to completion on this client's io_context, so tcp_stream deadlines apply.
  template <typename Start>
  boost::system::error_code Run(Start start) {
    boost::system::error_code result;
    start([&result](boost::system::error_code ec, std::size_t) { result = ec; });
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

Result<std::unique_ptr<HttpClient>> HttpClient::Create(std::string_view base_url) {
  constexpr std::string_view kScheme = "http://";
  if (base_url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument("server URL must start with http:// (got a different scheme)");
  }
  std::string_view rest = base_url.substr(kScheme.size());
  rest = rest.substr(0, rest.find('/'));
  std::unique_ptr<HttpClient> c(new HttpClient());
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || (rest.find(']') != std::string_view::npos && colon < rest.find(']'))) {
    c->impl_->host = std::string(rest);
    c->impl_->port = "80";
  } else {
    c->impl_->host = std::string(rest.substr(0, colon));
    c->impl_->port = std::string(rest.substr(colon + 1));
  }
  if (!c->impl_->host.empty() && c->impl_->host.front() == '[') {
    c->impl_->host = c->impl_->host.substr(1, c->impl_->host.size() - 2);
  }
  if (c->impl_->host.empty() || c->impl_->port.empty()) return Status::InvalidArgument("malformed server URL");
  return c;
}

Result<ClientResponse> HttpClient::Send(std::string_view method, std::string_view target, const HeaderList& headers,
                                        std::string_view body, int timeout_ms) {
  auto req = impl_->MakeRequest(method, target, headers, body);
  for (int attempt = 0; attempt < 2; ++attempt) {
    IF_RETURN_IF_ERROR(impl_->EnsureConnected());
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    auto& s = *impl_->stream;
    s.expires_after(std::chrono::milliseconds(timeout_ms));
    boost::system::error_code ec = impl_->Run([&](auto h) { http::async_write(s, req, h); });
    if (!ec) ec = impl_->Run([&](auto h) { http::async_read(s, impl_->buffer, parser, h); });
    if (ec) {
      impl_->Disconnect();
      // A kept-alive connection the server already closed: retry once on a fresh one.
      if (attempt == 0 && (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                           ec == asio::error::broken_pipe || ec == asio::error::eof)) {
        continue;
      }
      return Status::Unavailable("request to " + impl_->host + ":" + impl_->port + " failed: " + ec.message());
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

Status HttpClient::Stream(std::string_view target, const HeaderList& headers,
                          const std::function<void(int)>& on_status,
                          const std::function<bool(std::string_view)>& on_data, int timeout_ms) {
  impl_->Disconnect();
  IF_RETURN_IF_ERROR(impl_->EnsureConnected());
  auto req = impl_->MakeRequest("GET", target, headers, {});
  auto& s = *impl_->stream;
  s.expires_after(std::chrono::seconds(30));
  boost::system::error_code ec = impl_->Run([&](auto h) { http::async_write(s, req, h); });
  if (ec) return Status::Unavailable("stream request failed: " + ec.message());

  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  auto expire = [&] {
    if (timeout_ms > 0) s.expires_after(std::chrono::milliseconds(timeout_ms));
    else s.expires_never();
  };
  expire();
  ec = impl_->Run([&](auto h) { http::async_read_header(s, impl_->buffer, parser, h); });
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
    ec = impl_->Run([&](auto h) { http::async_read_some(s, impl_->buffer, parser, h); });
    if (ec == http::error::need_buffer) ec = {};
    size_t n = sizeof buf - parser.get().body().size;
    if (n > 0 && !on_data(std::string_view(buf, n))) break;
    if (ec) {
      impl_->Disconnect();
      if (ec == beast::error::timeout) return Status::Unavailable("stream timed out");
      if (ec == http::error::end_of_stream || ec == asio::error::eof) return Status::Ok();
      return Status::Unavailable("stream ended: " + ec.message());
    }
  }
  impl_->Disconnect();
  return Status::Ok();
}

}  // namespace ironflow
