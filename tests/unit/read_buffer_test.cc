// The HTTP server's read buffer: after a request is handled, nothing of it (a secret value in a PUT body) is
// left in the buffer's memory, while a pipelined next request survives intact.
#include "http/read_buffer.h"

#include <gtest/gtest.h>

#include <string>

namespace ironflow::server {
namespace {

namespace beast = boost::beast;

void Append(beast::flat_buffer& b, const std::string& text) {
  auto room = b.prepare(text.size());
  std::memcpy(room.data(), text.data(), text.size());
  b.commit(text.size());
}

// Every byte of the buffer's allocation: the readable bytes followed by the rest of its capacity.
std::string WholeAllocation(beast::flat_buffer& b) {
  std::string readable = beast::buffers_to_string(b.data());
  auto rest = b.prepare(b.capacity() - b.size());
  return readable + std::string(static_cast<const char*>(rest.data()), rest.size());
}

TEST(ReadBufferTest, HandledRequestLeavesNoTraceAndPipelinedRequestSurvives) {
  const std::string secret = "val-5e3c1b0d9a7f4e2c";
  const std::string first =
      "PUT /api/v1/secrets/K HTTP/1.1\r\nContent-Length: 32\r\n\r\n{\"value\":\"" + secret + "\"}";
  const std::string next = "GET /api/v1/secrets HTTP/1.1\r\n\r\n";
  beast::flat_buffer buffer;
  Append(buffer, first + next);
  buffer.consume(first.size());  // what the parser does with the first request
  ASSERT_NE(WholeAllocation(buffer).find(secret), std::string::npos) << "precondition: consumed bytes linger";

  WipeReadBuffer(buffer);
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), next) << "the pipelined request was damaged";
  EXPECT_EQ(WholeAllocation(buffer).find(secret), std::string::npos) << "the secret stayed in the read buffer";
}

TEST(ReadBufferTest, BufferGrownByALargeBodyIsReleasedAfterTheWipe) {
  // A 1 MiB body once must not make every later request on the connection wipe 1 MiB.
  beast::flat_buffer buffer;
  Append(buffer, std::string(1024 * 1024, 'S'));
  buffer.consume(buffer.size());
  WipeReadBuffer(buffer);
  EXPECT_LE(buffer.capacity(), 64u * 1024);
  EXPECT_EQ(WholeAllocation(buffer).find('S'), std::string::npos);
}

TEST(ReadBufferTest, FullyConsumedBufferIsZeroedThroughout) {
  beast::flat_buffer buffer;
  Append(buffer, std::string(4096, 'S'));
  buffer.consume(buffer.size());
  WipeReadBuffer(buffer);
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_EQ(WholeAllocation(buffer).find('S'), std::string::npos);
}

}  // namespace
}  // namespace ironflow::server
