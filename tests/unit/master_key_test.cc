// MasterKey: parsing IRONFLOW_MASTER_KEY without echoing it, the public key id, and sealing with fresh nonces.
#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "common/hex.h"
#include "crypto/digest.h"
#include "crypto/master_key.h"

namespace ironflow::server {
namespace {

std::string RandomKeyHex() { return HexEncode(RandomBytes(Aes256Gcm::kKeyBytes)); }

MasterKey KeyFromHexOrDie(const std::string& hex) {
  auto key = MasterKey::FromHex(hex);
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  if (!key.ok()) return MasterKey::FromBytes(RandomBytes(Aes256Gcm::kKeyBytes));
  return std::move(key).value();
}

std::string ToString(const SecureBytes& b) { return std::string(b.as_string_view()); }

// Every rejected input: wrong lengths and right-length non-hex strings.
std::vector<std::string> RejectedKeyInputs() {
  const std::string valid = RandomKeyHex();
  std::vector<std::string> inputs = {
      "",
      valid.substr(0, 63),
      valid + "a",
      valid + valid,
      "s3cr3t-passphrase-that-is-not-hex",
      std::string(64, 'g'),
      "zz" + valid.substr(2),
      valid.substr(0, 63) + "G",
      valid.substr(0, 32) + " " + valid.substr(33),
      "0x" + valid.substr(2),
      valid.substr(0, 10) + "-" + valid.substr(11),
      valid.substr(0, 20) + std::string(1, '\0') + valid.substr(21),
      valid.substr(0, 62) + "\xc3\xa9",  // 'é' in UTF-8: 64 bytes, not hex
  };
  return inputs;
}

TEST(MasterKeyTest, FromHexRejectsAnyLengthOtherThan64) {
  const std::string valid = RandomKeyHex();
  for (size_t len : {size_t{0}, size_t{1}, size_t{32}, size_t{62}, size_t{63}, size_t{65}, size_t{66}, size_t{128}}) {
    std::string input = (valid + valid + valid).substr(0, len);
    auto key = MasterKey::FromHex(input);
    ASSERT_FALSE(key.ok()) << "accepted " << len << " characters";
    EXPECT_TRUE(key.status().is(Code::kInvalidArgument)) << key.status().ToString();
  }
  EXPECT_TRUE(MasterKey::FromHex(valid).ok());
}

TEST(MasterKeyTest, FromHexRejectsNonHexCharacters) {
  const std::string valid = RandomKeyHex();
  for (char bad : std::string("gGzZ xX-+_/.:\t\n")) {
    for (size_t pos : {size_t{0}, size_t{31}, size_t{63}}) {
      std::string input = valid;
      input[pos] = bad;
      auto key = MasterKey::FromHex(input);
      ASSERT_FALSE(key.ok()) << "accepted '" << bad << "' at " << pos;
      EXPECT_TRUE(key.status().is(Code::kInvalidArgument)) << key.status().ToString();
    }
  }
}

TEST(MasterKeyTest, FromHexErrorMessageNeverContainsTheInput) {
  for (const std::string& input : RejectedKeyInputs()) {
    auto key = MasterKey::FromHex(input);
    ASSERT_FALSE(key.ok()) << "accepted a malformed key of " << input.size() << " characters";
    const std::string& msg = key.status().message();
    EXPECT_FALSE(msg.empty());
    if (!input.empty()) {
      EXPECT_EQ(msg.find(input), std::string::npos) << "message echoes the input: " << msg;
    }
    // Nor any 8-character piece of it (a partial key leak is still a leak).
    for (size_t i = 0; i + 8 <= input.size(); ++i) {
      ASSERT_EQ(msg.find(input.substr(i, 8)), std::string::npos)
          << "message contains input[" << i << ", " << i + 8 << "): " << msg;
    }
  }
}

TEST(MasterKeyTest, KeyIdIsSixteenLowercaseHexCharacters) {
  for (int i = 0; i < 50; ++i) {
    MasterKey key = KeyFromHexOrDie(RandomKeyHex());
    const std::string& id = key.key_id();
    ASSERT_EQ(id.size(), 16u) << id;
    for (char c : id) {
      EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << "key id " << id << " has '" << c << "'";
    }
  }
}

TEST(MasterKeyTest, KeyIdIsStableForTheSameKey) {
  const auto bytes = RandomBytes(Aes256Gcm::kKeyBytes);
  const std::string hex = HexEncode(bytes);
  MasterKey a = KeyFromHexOrDie(hex);
  MasterKey b = KeyFromHexOrDie(hex);
  MasterKey c = MasterKey::FromBytes(bytes);
  EXPECT_EQ(a.key_id(), b.key_id());
  EXPECT_EQ(a.key_id(), c.key_id());
}

TEST(MasterKeyTest, KeyIdDiffersForDifferentKeys) {
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) ids.insert(KeyFromHexOrDie(RandomKeyHex()).key_id());
  EXPECT_EQ(ids.size(), 200u);

  // Keys one bit apart still get unrelated ids.
  auto bytes = RandomBytes(Aes256Gcm::kKeyBytes);
  const std::string base_id = MasterKey::FromBytes(bytes).key_id();
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    auto other = bytes;
    other[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_NE(MasterKey::FromBytes(other).key_id(), base_id) << "bit " << bit;
  }
}

TEST(MasterKeyTest, KeyIdDoesNotRevealTheKey) {
  std::vector<std::string> keys = {std::string(64, '0'), std::string(64, 'f'),
                                   "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"};
  for (int i = 0; i < 50; ++i) keys.push_back(RandomKeyHex());
  for (const std::string& hex : keys) {
    MasterKey key = KeyFromHexOrDie(hex);
    EXPECT_EQ(hex.find(key.key_id()), std::string::npos) << "key id " << key.key_id() << " is part of the key";
    // The id is not a plain hash of the key either: it is keyed (HMAC), so SHA-256(key) does not give it away.
    auto raw = HexDecode(hex);
    ASSERT_TRUE(raw.has_value());
    EXPECT_EQ(HexEncode(Sha256(*raw)).find(key.key_id()), std::string::npos);
  }
}

TEST(MasterKeyTest, SealThenOpenReturnsThePlaintext) {
  MasterKey key = KeyFromHexOrDie(RandomKeyHex());
  const std::string aad = "ironflow/secret/v1 production STRIPE_KEY";
  for (const std::string& plaintext :
       {std::string(), std::string("sk_live_51Habc"), std::string(1, '\0'), std::string(70000, 'x')}) {
    auto box = key.Seal(AsBytes(plaintext), AsBytes(aad));
    ASSERT_TRUE(box.ok()) << box.status().ToString();
    EXPECT_EQ(box->nonce.size(), Aes256Gcm::kNonceBytes);
    EXPECT_EQ(box->ciphertext.size(), plaintext.size() + Aes256Gcm::kTagBytes);
    auto opened = key.Open(box.value(), AsBytes(aad));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(ToString(opened.value()), plaintext);
  }
}

TEST(MasterKeyTest, OpenWithADifferentAadFails) {
  MasterKey key = KeyFromHexOrDie(RandomKeyHex());
  auto box = key.Seal(AsBytes("hunter2"), AsBytes("production/DB_PASSWORD"));
  ASSERT_TRUE(box.ok()) << box.status().ToString();
  EXPECT_FALSE(key.Open(box.value(), AsBytes("staging/DB_PASSWORD")).ok());
  EXPECT_FALSE(key.Open(box.value(), AsBytes("production/DB_PASSWORd")).ok());
  EXPECT_FALSE(key.Open(box.value(), AsBytes("")).ok());
  EXPECT_TRUE(key.Open(box.value(), AsBytes("production/DB_PASSWORD")).ok());
}

TEST(MasterKeyTest, EverySealDrawsAFreshNonce) {
  MasterKey key = KeyFromHexOrDie(RandomKeyHex());
  constexpr int kSeals = 1000;
  std::set<std::vector<uint8_t>> nonces;
  std::set<std::vector<uint8_t>> ciphertexts;
  for (int i = 0; i < kSeals; ++i) {
    auto box = key.Seal(AsBytes("the same plaintext every time"), AsBytes("the same aad"));
    ASSERT_TRUE(box.ok()) << box.status().ToString();
    ASSERT_EQ(box->nonce.size(), Aes256Gcm::kNonceBytes);
    nonces.insert(box->nonce);
    ciphertexts.insert(box->ciphertext);
  }
  EXPECT_EQ(nonces.size(), static_cast<size_t>(kSeals));
  EXPECT_EQ(ciphertexts.size(), static_cast<size_t>(kSeals));
}

TEST(MasterKeyTest, SealingTheSamePlaintextTwiceGivesDifferentNoncesAndCiphertexts) {
  MasterKey key = KeyFromHexOrDie(RandomKeyHex());
  auto a = key.Seal(AsBytes("same value"), AsBytes("same aad"));
  auto b = key.Seal(AsBytes("same value"), AsBytes("same aad"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->nonce, b->nonce);
  EXPECT_NE(a->ciphertext, b->ciphertext);
  // Both still open to the same value.
  auto pa = key.Open(a.value(), AsBytes("same aad"));
  auto pb = key.Open(b.value(), AsBytes("same aad"));
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_EQ(ToString(pa.value()), "same value");
  EXPECT_EQ(ToString(pb.value()), "same value");
}

TEST(MasterKeyTest, OpenWithAnotherKeyFails) {
  MasterKey a = KeyFromHexOrDie(RandomKeyHex());
  MasterKey b = KeyFromHexOrDie(RandomKeyHex());
  ASSERT_NE(a.key_id(), b.key_id());
  auto box = a.Seal(AsBytes("hunter2"), AsBytes("aad"));
  ASSERT_TRUE(box.ok()) << box.status().ToString();
  EXPECT_FALSE(b.Open(box.value(), AsBytes("aad")).ok());
  EXPECT_TRUE(a.Open(box.value(), AsBytes("aad")).ok());
}

TEST(MasterKeyTest, SealedCiphertextDoesNotContainThePlaintext) {
  MasterKey key = KeyFromHexOrDie(RandomKeyHex());
  const std::string plaintext = "postgres://admin:correct-horse-battery-staple@db:5432/prod";
  auto box = key.Seal(AsBytes(plaintext), AsBytes("aad"));
  ASSERT_TRUE(box.ok()) << box.status().ToString();
  std::string ct(box->ciphertext.begin(), box->ciphertext.end());
  EXPECT_EQ(ct.find(plaintext), std::string::npos);
  EXPECT_EQ(ct.find("correct-horse"), std::string::npos);
}

}  // namespace
}  // namespace ironflow::server
