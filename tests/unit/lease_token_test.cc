// The lease token a pull worker carries between its poll and its result: the server must get back exactly the
// claim it sealed, and nothing a worker altered or made up.
#include <gtest/gtest.h>

#include "common/hex.h"
#include "crypto/digest.h"
#include "runtime/lease_token.h"

namespace ironflow::server {
namespace {

const std::vector<uint8_t> kKey = RandomBytes(32);
const std::vector<uint8_t> kOtherKey = RandomBytes(32);

LeaseClaim Claim() {
  return {"production", "run_0123",   2,
          "worker-a",   "lease_abcd", "$JS.ACK.IRONFLOW_JOBS.jobq_production_payout.2.17.9.1700000000.0"};
}

TEST(LeaseToken, ASealedClaimOpensToTheSameClaim) {
  auto opened = OpenLeaseToken(SealLeaseToken(Claim(), kKey), {kKey});
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(opened->environment, "production");
  EXPECT_EQ(opened->run_id, "run_0123");
  EXPECT_EQ(opened->attempt, 2);
  EXPECT_EQ(opened->worker_id, "worker-a");
  EXPECT_EQ(opened->lease_id, "lease_abcd");
  EXPECT_EQ(opened->ack_subject, Claim().ack_subject);
}

TEST(LeaseToken, ATokenSealedUnderAnyKeyInForceOpens) {
  // During a signing-key rotation's grace window a token sealed under the previous key still opens.
  EXPECT_TRUE(OpenLeaseToken(SealLeaseToken(Claim(), kOtherKey), {kKey, kOtherKey}).ok());
  EXPECT_TRUE(OpenLeaseToken(SealLeaseToken(Claim(), kOtherKey), {kKey}).status().is(Code::kConflict));
}

TEST(LeaseToken, AWorkerCannotRedirectTheAckSubjectOrChangeTheClaim) {
  const std::string token = SealLeaseToken(Claim(), kKey);
  const size_t dot = token.rfind('.');
  const std::string payload_hex = token.substr(4, dot - 4);
  auto payload = HexDecode(payload_hex);
  ASSERT_TRUE(payload.has_value());
  std::string text(payload->begin(), payload->end());
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {".2.17.9.", ".1.18.9."}, {"worker-a", "worker-b"}, {"run_0123", "run_0124"}, {"\n2\n", "\n3\n"}}) {
    std::string altered = text;
    altered.replace(altered.find(from), from.size(), to);
    const std::string forged = "lt1." + HexEncode(AsBytes(altered).data(), altered.size()) + token.substr(dot);
    EXPECT_TRUE(OpenLeaseToken(forged, {kKey}).status().is(Code::kConflict)) << "accepted a token with " << to;
  }
}

TEST(LeaseToken, MalformedTokensAreRefusedWithoutThrowing) {
  for (const std::string& bad :
       std::vector<std::string>{"", "lt1.", "lt1.zz.00", "lease_0123", "lt1.00", std::string(5000, 'a'),
                                "lt1." + HexEncode(AsBytes("a\nb").data(), 3) + ".00"}) {
    EXPECT_TRUE(OpenLeaseToken(bad, {kKey}).status().is(Code::kConflict)) << bad.substr(0, 40);
  }
  // A correctly MACed payload with the wrong number of fields.
  std::string token = SealLeaseToken({"e", "r", 1, "w", "l", "a\nextra"}, kKey);
  EXPECT_FALSE(OpenLeaseToken(token, {kKey}).ok());
}

}  // namespace
}  // namespace ironflow::server
