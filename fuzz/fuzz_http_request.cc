// Fuzz target: the HTTP request parser as the server drives it (Beast's parser with our header and body limits,
// then the framing rules of request_framing.h once the headers are in). Any bytes: an error or a request, never a
// crash; a request that passes the framing rules has at most one Content-Length and only `chunked` as its coding.
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "http/request_framing.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1024 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t offset = 0;
  bool checked = false;
  while (offset < size && !parser.is_done()) {
    size_t used = parser.put(boost::asio::buffer(data + offset, size - offset), ec);
    if (ec == http::error::need_more) break;
    if (ec) return 0;
    offset += used;
    if (parser.is_header_done() && !checked) {
      checked = true;
      std::vector<std::string_view> te, cl;
      for (const auto& f : parser.get()) {
        if (f.name() == http::field::transfer_encoding) te.push_back(f.value());
        if (f.name() == http::field::content_length) cl.push_back(f.value());
      }
      if (!ironflow::CheckRequestFraming(te, cl, static_cast<int>(parser.get().version())).ok()) return 0;
      if (te.size() > 1 || cl.size() > 1) std::abort();
    }
    if (used == 0) break;
  }
  return 0;
}
