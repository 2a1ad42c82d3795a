// WipeReadBuffer: zeroes every byte a connection's read buffer (beast::flat_buffer) has held — requests already
// parsed, whose bodies may carry secret values — keeping only the bytes not consumed yet (a pipelined next
// request). The parsed body itself is wiped separately; this covers the raw copy the parser read it from.
// Included only by the HTTP server (and its test): keeps Beast out of widely included headers.
#pragma once

#include <openssl/crypto.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cstring>
#include <string>

namespace ironflow {

inline void WipeReadBuffer(boost::beast::flat_buffer& buffer) {
  constexpr std::size_t kKeepCapacity = 64 * 1024;  // larger buffers (a big body once) are released once wiped
  std::string pending = boost::beast::buffers_to_string(buffer.data());
  buffer.consume(buffer.size());  // now empty: the whole allocation is writable again
  auto all = buffer.prepare(buffer.capacity());
  OPENSSL_cleanse(all.data(), all.size());
  if (buffer.capacity() > kKeepCapacity) buffer.shrink_to_fit();  // so later requests do not wipe it all again
  if (!pending.empty()) {
    auto room = buffer.prepare(pending.size());
    std::memcpy(room.data(), pending.data(), pending.size());
    buffer.commit(pending.size());
    OPENSSL_cleanse(pending.data(), pending.size());
  }
}

}  // namespace ironflow
