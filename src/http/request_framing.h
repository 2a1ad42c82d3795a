// Request framing rules the HTTP server applies once a request's headers are in, before its body is read.
//
// A request whose length two parties could read differently is the raw material of request smuggling behind a
// proxy (RFC 9112 §6.1, §6.3): the server answers 400 and closes the connection. Refused: any Transfer-Encoding but
// exactly one `chunked` (case-insensitive, optional whitespace around it; `chunked, identity`, `xchunked`, `gzip`,
// two header fields...), Transfer-Encoding together with Content-Length, and more than one Content-Length or one
// that is not a plain decimal number. Pure function of the header values; no Beast here (the server and the fuzz
// target share it).
#pragma once

#include <string_view>
#include <vector>

#include "common/status.h"

namespace ironflow {

// `transfer_encodings` / `content_lengths`: the values of every such header field, in order. `http_version`: 10
// or 11. HTTP/1.0 has no chunked coding, so a 1.0 request with Transfer-Encoding is refused too (RFC 9112 §6.1: a
// 1.0 peer behind a proxy would frame it differently).
Status CheckRequestFraming(const std::vector<std::string_view>& transfer_encodings,
                           const std::vector<std::string_view>& content_lengths, int http_version = 11);

}  // namespace ironflow
