// Identifier validation (environments, secret names, NATS subject patterns), NATS wildcard matching, and the
// hex/base64 codecs. Table-driven: each row is one input and whether the rule accepts it.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/hex.h"
#include "common/names.h"
#include "crypto/digest.h"
#include "kv/counter.h"

namespace ironflow::server {
namespace {

struct NameCase {
  std::string input;
  bool valid;
};

// Prints control characters visibly so a failing row can be identified.
std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return "\"" + out + "\" (" + std::to_string(s.size()) + " chars)";
}

template <typename Validate>
void CheckTable(const std::vector<NameCase>& table, Validate validate) {
  for (const NameCase& c : table) {
    Status st = validate(c.input);
    EXPECT_EQ(st.ok(), c.valid) << Printable(c.input) << " should be " << (c.valid ? "accepted" : "rejected");
    if (!st.ok()) {
      EXPECT_TRUE(st.is(Code::kInvalidArgument)) << Printable(c.input) << ": " << st.ToString();
      EXPECT_FALSE(st.message().empty());
    }
  }
}

std::string WithNul(std::string_view before, std::string_view after) {
  std::string s(before);
  s.push_back('\0');
  s.append(after);
  return s;
}

TEST(NamesTest, EnvironmentNameIsLowercaseAlnumOrDashStartingAlnumUpTo63Chars) {
  CheckTable(
      {
          {"production", true},
          {"a", true},
          {"0", true},
          {"dev-1", true},
          {"1-2-3", true},
          {"a-", true},
          {"a--b", true},
          {"eu-west-1-staging", true},
          {std::string(63, 'a'), true},
          {"a" + std::string(62, '-'), true},
          {std::string(64, 'a'), false},
          {"", false},
          {"-dev", false},
          {"Dev", false},
          {"PRODUCTION", false},
          {"dev_1", false},
          {"dev.1", false},
          {"dev 1", false},
          {" dev", false},
          {"dev ", false},
          {"dev*", false},
          {"dev>", false},
          {"*", false},
          {">", false},
          {"dev/prod", false},
          {"dev\n", false},
          {"d\xc3\xa9v", false},  // UTF-8 'é'
          {WithNul("dev", "x"), false},
      },
      ValidateEnvironmentName);
}

TEST(NamesTest, SecretNameIsOneNatsTokenOfAlnumUnderscoreDashStartingLetterOrUnderscoreUpTo128Chars) {
  CheckTable(
      {
          {"STRIPE_KEY", true},
          {"stripe_key", true},
          {"_x", true},
          {"_", true},
          {"a", true},
          {"A-b_9", true},
          {"DB-PASSWORD-2", true},
          {"A" + std::string(127, '9'), true},
          {std::string(128, 'A'), true},
          {std::string(129, 'A'), false},
          {"", false},
          {"9ABC", false},
          {"-abc", false},
          {"A.B", false},
          {".A", false},
          {"A.", false},
          {"A*", false},
          {"*", false},
          {"A>", false},
          {">", false},
          {"A B", false},
          {"A\tB", false},
          {" A", false},
          {"A/B", false},
          {"A$B", false},
          {"A=B", false},
          {"\xc3\x89T\xc3\x89", false},  // UTF-8 'ÉTÉ'
          {WithNul("A", "B"), false},
      },
      ValidateSecretName);
}

TEST(NamesTest, SubjectPatternIsDotSeparatedTokensWithStarTokensAndOnlyATrailingGreaterThan) {
  // 512 characters is the longest accepted pattern.
  std::string longest;
  while (longest.size() < 510) longest += "ab.";
  longest.resize(510);
  if (longest.back() == '.') longest.back() = 'x';
  longest += ".z";
  ASSERT_EQ(longest.size(), 512u);
  CheckTable(
      {
          {"system.secret.>", true},
          {"system.*.updated", true},
          {"system.secret.A.updated", true},
          {">", true},
          {"*", true},
          {"*.*", true},
          {"*.>", true},
          {"a.b.c", true},
          {"system.secret.STRIPE_KEY.updated", true},
          {longest, true},
          {longest + "x", false},
          {"", false},
          {".", false},
          {"a..b", false},
          {".a", false},
          {"a.", false},
          {"a.>.b", false},
          {">.a", false},
          {"a.b*", false},
          {"a.*b", false},
          {"a.>b", false},
          {"a.b>", false},
          {"a.**", false},
          {">>", false},
          {"a b", false},
          {"a\tb", false},
          {"a\nb", false},
          {"a\x7f", false},
          {WithNul("a", "b"), false},
      },
      ValidateSubjectPattern);
}

struct MatchCase {
  std::string pattern;
  std::string subject;
  bool matches;
};

TEST(NamesTest, SubjectMatchesFollowsNatsWildcardSemantics) {
  const std::vector<MatchCase> table = {
      // `>` matches one or more trailing tokens, never zero.
      {"system.secret.>", "system.secret.A.updated", true},
      {"system.secret.>", "system.secret.A", true},
      {"system.secret.>", "system.secret", false},
      {"system.secret.>", "system", false},
      {"system.secret.>", "system.secrets.A", false},
      {"system.secret.>", "other.secret.A", false},
      {">", "a", true},
      {">", "a.b.c", true},
      // `*` matches exactly one token.
      {"system.*.updated", "system.secret.updated", true},
      {"system.*.updated", "system.secret.A.updated", false},
      {"system.*.updated", "system.updated", false},
      {"system.*", "system", false},
      {"system.*", "system.secret", true},
      {"system.*", "system.secret.A", false},
      {"*", "a", true},
      {"*", "a.b", false},
      {"*.*", "a.b", true},
      {"*.*", "a", false},
      {"a.*.>", "a.b.c", true},
      {"a.*.>", "a.b.c.d", true},
      {"a.*.>", "a.b", false},
      // Literal tokens match exactly, case-sensitively, whole tokens only.
      {"a.b", "a.b", true},
      {"a.b", "a.b.c", false},
      {"a.b.c", "a.b", false},
      {"a.b", "a.B", false},
      {"a.b", "a.bc", false},
      {"a.b", "ab", false},
      {"system.secret.A.updated", "system.secret.A.updated", true},
  };
  for (const MatchCase& c : table) {
    ASSERT_TRUE(ValidateSubjectPattern(c.pattern).ok()) << "table row uses an invalid pattern: " << c.pattern;
    EXPECT_EQ(SubjectMatches(c.pattern, c.subject), c.matches)
        << "pattern " << c.pattern << " vs subject " << c.subject << " should " << (c.matches ? "" : "not ") << "match";
  }
}

// --- hex --------------------------------------------------------------------------------------------------------

std::vector<uint8_t> AllByteValues() {
  std::vector<uint8_t> v(256);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i);
  return v;
}

TEST(HexTest, EncodeIsLowercaseTwoDigitsPerByte) {
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  EXPECT_EQ(HexEncode(bytes), "00017f80abff");
  EXPECT_EQ(HexEncode(std::vector<uint8_t>()), "");
  const std::string all = HexEncode(AllByteValues());
  ASSERT_EQ(all.size(), 512u);
  for (char c : all) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << c;
}

TEST(HexTest, DecodeInvertsEncodeForEveryByteValueAndLength) {
  auto all = AllByteValues();
  auto decoded = HexDecode(HexEncode(all));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, all);
  for (size_t len = 0; len <= 70; ++len) {
    auto bytes = RandomBytes(len);
    auto back = HexDecode(HexEncode(bytes));
    ASSERT_TRUE(back.has_value()) << "length " << len;
    EXPECT_EQ(*back, bytes) << "length " << len;
  }
}

TEST(HexTest, DecodeAcceptsEitherCase) {
  auto lower = HexDecode("abcdef0123");
  auto upper = HexDecode("ABCDEF0123");
  auto mixed = HexDecode("aBcDeF0123");
  ASSERT_TRUE(lower && upper && mixed);
  EXPECT_EQ(*lower, *upper);
  EXPECT_EQ(*lower, *mixed);
  EXPECT_EQ(*lower, (std::vector<uint8_t>{0xab, 0xcd, 0xef, 0x01, 0x23}));
}

TEST(HexTest, DecodeRejectsMalformedHex) {
  for (const std::string& bad :
       {std::string("a"), std::string("abc"), std::string("0g"), std::string("g0"), std::string("zz"),
        std::string("0x12"), std::string("12 34"), std::string(" 12"), std::string("12\n"), std::string("-1"),
        std::string("+1"), std::string("1."), WithNul("1", ""), std::string("\xc3\xa9")}) {
    EXPECT_FALSE(HexDecode(bad).has_value()) << Printable(bad);
  }
}

// --- base64 -----------------------------------------------------------------------------------------------------

TEST(Base64Test, EncodeMatchesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, DecodeInvertsEncodeForEveryByteValueAndLength) {
  auto all = AllByteValues();
  auto decoded = Base64Decode(Base64Encode(all.data(), all.size()));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, all);
  for (size_t len = 0; len <= 70; ++len) {
    auto bytes = RandomBytes(len);
    const std::string encoded = Base64Encode(bytes.data(), bytes.size());
    EXPECT_EQ(encoded.size(), 4 * ((len + 2) / 3)) << "length " << len;
    auto back = Base64Decode(encoded);
    ASSERT_TRUE(back.has_value()) << "length " << len << ": " << encoded;
    EXPECT_EQ(*back, bytes) << "length " << len << ": " << encoded;
  }
  // Runs of zero bytes at the end are data, not padding.
  for (size_t len = 1; len <= 6; ++len) {
    std::vector<uint8_t> zeros(len, 0);
    auto back = Base64Decode(Base64Encode(zeros.data(), zeros.size()));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, zeros) << "length " << len;
  }
}

TEST(Base64Test, DecodeRejectsMalformedBase64) {
  const std::vector<std::string> bad = {
      "Z",          // not a multiple of 4
      "Zg",         // unpadded
      "Zg=",        // short padding
      "Zm9vYg",     // unpadded
      "Z===",       // three padding characters
      "====",       // padding only
      "=Zm9",       // padding at the start
      "Zg=a",       // data after padding
      "Z=g=",       // padding in the middle of a quad
      "Zg==Zm9v",   // padding before the last quad
      "Zm9v Zg==",  // embedded space
      " Zm9",       // leading space
      "Zm9 ",       // trailing space
      "Zm9v\n",     // trailing newline
      "Zm9*",       // not in the alphabet
      "Zm-v",       // base64url alphabet
      "Zm_v",       // base64url alphabet
      WithNul("Zm9", ""),
      "\xc3\xa9\xc3\xa9",
  };
  for (const std::string& b : bad) {
    EXPECT_FALSE(Base64Decode(b).has_value()) << Printable(b);
  }
}

TEST(KvNames, BucketNamesAreLowercaseTokensThatCannotSpellASystemBucket) {
  for (const std::string& ok :
       std::vector<std::string>{"sessions", "a", "cache_v2", "rate-limits", "0day", std::string(63, 'b')}) {
    EXPECT_TRUE(ValidateBucketName(ok).ok()) << ok;
  }
  for (const std::string& bad : std::vector<std::string>{"", "Sessions", "-x", "_x", "a.b", "a b", "a/b", "a*", ">",
                                                         std::string(64, 'b'), "ä"}) {
    EXPECT_FALSE(ValidateBucketName(bad).ok()) << bad;
  }
}

TEST(KvNames, KeysAreDotSeparatedTokensWithoutWildcardsOrSlashes) {
  for (const std::string& ok :
       std::vector<std::string>{"k", "user.42.cart", "a=b", "A-Z_0-9", "x.y.z", std::string(256, 'k')}) {
    EXPECT_TRUE(ValidateKvKey(ok).ok()) << ok;
  }
  for (const std::string& bad : std::vector<std::string>{"", ".a", "a.", "a..b", "a/b", "a b", "a*", "*", ">", "a.>",
                                                         "\xc3\xa9", std::string(257, 'k')}) {
    EXPECT_FALSE(ValidateKvKey(bad).ok()) << bad;
  }
}

TEST(KvNames, KeyPatternsAllowStarTokensAndATrailingGreaterThan) {
  for (const std::string& ok : std::vector<std::string>{">", "*", "user.*.cart", "user.>", "a.*.>", "plain"}) {
    EXPECT_TRUE(ValidateKvKeyPattern(ok).ok()) << ok;
  }
  for (const std::string& bad : std::vector<std::string>{"", ">.a", "a*", "a.>x", "a..b", "a b", "a/b"}) {
    EXPECT_FALSE(ValidateKvKeyPattern(bad).ok()) << bad;
  }
}

TEST(Counters, ParseAcceptsOnlyStrictDecimalInt64) {
  EXPECT_EQ(ParseCounter("0"), 0);
  EXPECT_EQ(ParseCounter("42"), 42);
  EXPECT_EQ(ParseCounter("-7"), -7);
  EXPECT_EQ(ParseCounter("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(ParseCounter("-9223372036854775808"), INT64_MIN);
  for (const std::string& bad :
       std::vector<std::string>{"", "-", "+1", " 1", "1 ", "1.0", "0x10", "1e3", "abc", "9223372036854775808",
                                "-9223372036854775809", "99999999999999999999"}) {
    EXPECT_FALSE(ParseCounter(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace ironflow::server
