// Request framing: every Transfer-Encoding / Content-Length combination a proxy could read differently is refused.
#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "http/request_framing.h"

namespace ironflow::server {
namespace {

using Values = std::vector<std::string_view>;

TEST(RequestFramingTest, ExactlyOneChunkedCodingIsAcceptedInAnyCaseWithOptionalWhitespace) {
  for (std::string_view te : {"chunked", "Chunked", "CHUNKED", " chunked", "chunked\t", "\t chunked  "}) {
    EXPECT_TRUE(CheckRequestFraming(Values{te}, {}).ok()) << "[" << te << "]";
  }
}

TEST(RequestFramingTest, EveryOtherTransferEncodingIsRefused) {
  for (std::string_view te : {"chunked, identity", "identity, chunked", "xchunked", "chunkedx", "identity", "gzip",
                              "gzip, chunked", "chunked,chunked", "", " ", "chu nked", "chunked;q=1"}) {
    EXPECT_TRUE(CheckRequestFraming(Values{te}, {}).is(Code::kInvalidArgument)) << "[" << te << "]";
  }
  EXPECT_FALSE(CheckRequestFraming(Values{"chunked", "chunked"}, {}).ok());
}

TEST(RequestFramingTest, TransferEncodingWithContentLengthAndAmbiguousLengthsAreRefused) {
  EXPECT_FALSE(CheckRequestFraming(Values{"chunked"}, Values{"5"}).ok());
  EXPECT_FALSE(CheckRequestFraming({}, Values{"5", "5"}).ok());
  EXPECT_FALSE(CheckRequestFraming({}, Values{"5, 5"}).ok());
  EXPECT_FALSE(CheckRequestFraming({}, Values{"+5"}).ok());
  EXPECT_FALSE(CheckRequestFraming({}, Values{"0x10"}).ok());
  EXPECT_TRUE(CheckRequestFraming({}, Values{"17"}).ok());
}

TEST(RequestFramingTest, TransferEncodingInAnHttp10RequestIsRefused) {
  EXPECT_TRUE(CheckRequestFraming(Values{"chunked"}, {}, 10).is(Code::kInvalidArgument));
  EXPECT_TRUE(CheckRequestFraming({}, Values{"5"}, 10).ok());
  EXPECT_TRUE(CheckRequestFraming(Values{"chunked"}, {}, 11).ok());
  EXPECT_TRUE(CheckRequestFraming({}, {}).ok());
}

}  // namespace
}  // namespace ironflow::server
