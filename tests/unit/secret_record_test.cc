// SecretRecord codec, the AAD that binds a sealed value to its (environment, name), and ValueSealer.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/hex.h"
#include "crypto/digest.h"
#include "crypto/master_key.h"
#include "secrets/secret_record.h"
#include "secrets/value_sealer.h"

namespace ironflow::server {
namespace {

using nlohmann::json;

MasterKey RandomKey() { return MasterKey::FromBytes(RandomBytes(Aes256Gcm::kKeyBytes)); }

constexpr char kPlaintext[] = "sk_live_51HqLyjWDarjtT1zdp7dcXaXn";

SecretRecord EncryptedRecord() {
  SecretRecord r;
  r.environment = "production";
  r.name = "STRIPE_KEY";
  r.description = "Stripe live key";
  r.created_at = "2026-12-01T05:36:31.123Z";
  r.updated_at = "2026-12-02T07:00:00.000Z";
  ValueSealer sealer(RandomKey());
  auto sealed = sealer.Seal(r.environment, r.name, kPlaintext);
  EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
  if (sealed.ok()) r.value = sealed.value();
  return r;
}

SecretRecord DevRecord() {
  SecretRecord r;
  r.environment = "dev";
  r.name = "DB_PASSWORD";
  r.description = "";
  r.created_at = "2026-12-01T05:36:31.123Z";
  r.updated_at = "2026-12-01T05:36:31.123Z";
  r.value.algorithm = std::string(kAlgorithmNone);
  r.value.plaintext = SecretString(std::string_view(kPlaintext));
  return r;
}

void ExpectSameRecord(const SecretRecord& a, const SecretRecord& b) {
  EXPECT_EQ(a.environment, b.environment);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
  EXPECT_EQ(a.value.algorithm, b.value.algorithm);
  EXPECT_EQ(a.value.key_id, b.value.key_id);
  EXPECT_EQ(a.value.nonce, b.value.nonce);
  EXPECT_EQ(a.value.ciphertext, b.value.ciphertext);
  EXPECT_EQ(a.value.plaintext.view(), b.value.plaintext.view());
}

TEST(SecretRecordTest, MovingADevRecordLeavesNoPlaintextBehindAndACopyIsExplicit) {
  SecretRecord a = DevRecord();
  SecretRecord b = std::move(a);
  EXPECT_EQ(b.value.plaintext.view(), kPlaintext);
  EXPECT_TRUE(a.value.plaintext.empty()) << "a move must not leave a copy of the plaintext in the source";
  SealedValue copy = b.value;  // a retried write needs the value again: copying is allowed, and deliberate
  EXPECT_EQ(copy.plaintext.view(), kPlaintext);
  SealedValue moved = std::move(copy);
  EXPECT_TRUE(copy.plaintext.empty());
  EXPECT_EQ(moved.plaintext.view(), kPlaintext);
}

// --- codec ------------------------------------------------------------------------------------------------------

TEST(SecretRecordTest, EncryptedRecordSurvivesEncodeDecode) {
  SecretRecord r = EncryptedRecord();
  ASSERT_TRUE(r.value.encrypted());
  ASSERT_EQ(r.value.nonce.size(), Aes256Gcm::kNonceBytes);
  auto decoded = DecodeSecretRecord(EncodeSecretRecord(r));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSameRecord(decoded.value(), r);
  EXPECT_TRUE(decoded->value.encrypted());
}

TEST(SecretRecordTest, DevRecordSurvivesEncodeDecode) {
  SecretRecord r = DevRecord();
  ASSERT_FALSE(r.value.encrypted());
  auto decoded = DecodeSecretRecord(EncodeSecretRecord(r));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSameRecord(decoded.value(), r);
  EXPECT_FALSE(decoded->value.encrypted());
}

TEST(SecretRecordTest, EncodedRecordHasTheDocumentedJsonShape) {
  SecretRecord r = EncryptedRecord();
  json doc = json::parse(EncodeSecretRecord(r));
  EXPECT_EQ(doc.at("format"), kSecretFormatVersion);
  EXPECT_EQ(doc.at("environment"), r.environment);
  EXPECT_EQ(doc.at("name"), r.name);
  const json& v = doc.at("value");
  EXPECT_EQ(v.at("alg"), std::string(kAlgorithmAesGcm));
  EXPECT_EQ(v.at("key_id"), r.value.key_id);
  EXPECT_EQ(v.at("nonce"), Base64Encode(r.value.nonce.data(), r.value.nonce.size()));
  EXPECT_EQ(v.at("ciphertext"), Base64Encode(r.value.ciphertext.data(), r.value.ciphertext.size()));
  EXPECT_FALSE(v.contains("plaintext"));

  json dev = json::parse(EncodeSecretRecord(DevRecord()));
  EXPECT_EQ(dev.at("value").at("alg"), std::string(kAlgorithmNone));
  EXPECT_EQ(dev.at("value").at("plaintext"), kPlaintext);
  EXPECT_FALSE(dev.at("value").contains("ciphertext"));
}

TEST(SecretRecordTest, EncryptedRecordJsonDoesNotContainThePlaintext) {
  const std::string encoded = EncodeSecretRecord(EncryptedRecord());
  EXPECT_EQ(encoded.find(kPlaintext), std::string::npos) << encoded;
  EXPECT_EQ(encoded.find("sk_live"), std::string::npos) << encoded;
  EXPECT_EQ(encoded.find(Base64Encode(kPlaintext)), std::string::npos) << encoded;
}

TEST(SecretRecordTest, DevRecordJsonStoresThePlaintextVerbatim) {
  // Documented dev-mode format: {"alg":"none","plaintext":"<the value>"}.
  const std::string encoded = EncodeSecretRecord(DevRecord());
  EXPECT_NE(encoded.find(std::string("\"plaintext\":\"") + kPlaintext + "\""), std::string::npos) << encoded;
}

TEST(SecretRecordTest, DecodeRejectsGarbage) {
  for (const std::string& bad :
       {std::string(""), std::string("not json"), std::string("{"), std::string("[]"), std::string("null"),
        std::string("42"), std::string("\"a string\""), std::string("{}"), std::string("\xff\xfe\x00", 3)}) {
    auto r = DecodeSecretRecord(bad);
    EXPECT_FALSE(r.ok()) << "accepted " << bad;
  }
}

TEST(SecretRecordTest, DecodeRejectsMissingOrMistypedFields) {
  const json good = json::parse(EncodeSecretRecord(EncryptedRecord()));
  ASSERT_TRUE(DecodeSecretRecord(good.dump()).ok());
  for (const char* field : {"format", "environment", "name", "description", "created_at", "updated_at", "value"}) {
    json missing = good;
    missing.erase(field);
    EXPECT_FALSE(DecodeSecretRecord(missing.dump()).ok()) << "accepted a record without " << field;
    json mistyped = good;
    mistyped[field] = json::array({1, 2});
    EXPECT_FALSE(DecodeSecretRecord(mistyped.dump()).ok()) << "accepted a record with a mistyped " << field;
  }
  for (const char* field : {"alg", "key_id", "nonce", "ciphertext"}) {
    json missing = good;
    missing["value"].erase(field);
    EXPECT_FALSE(DecodeSecretRecord(missing.dump()).ok()) << "accepted a value without " << field;
  }
  json bad_b64 = good;
  bad_b64["value"]["ciphertext"] = "not base64!";
  EXPECT_FALSE(DecodeSecretRecord(bad_b64.dump()).ok());
  json dev_without_plaintext = json::parse(EncodeSecretRecord(DevRecord()));
  dev_without_plaintext["value"].erase("plaintext");
  EXPECT_FALSE(DecodeSecretRecord(dev_without_plaintext.dump()).ok());
  json dev_numeric_plaintext = json::parse(EncodeSecretRecord(DevRecord()));
  dev_numeric_plaintext["value"]["plaintext"] = 12345;
  EXPECT_FALSE(DecodeSecretRecord(dev_numeric_plaintext.dump()).ok());
}

TEST(SecretRecordTest, DecodeRejectsOtherFormatVersions) {
  json doc = json::parse(EncodeSecretRecord(EncryptedRecord()));
  for (int version : {0, 2, -1, 100}) {
    doc["format"] = version;
    auto r = DecodeSecretRecord(doc.dump());
    ASSERT_FALSE(r.ok()) << "accepted format " << version;
    EXPECT_NE(r.status().message().find("format"), std::string::npos) << r.status().ToString();
  }
  doc["format"] = "1";
  EXPECT_FALSE(DecodeSecretRecord(doc.dump()).ok()) << "accepted format as a string";
}

TEST(SecretRecordTest, DecodeRejectsUnknownAlgorithm) {
  json doc = json::parse(EncodeSecretRecord(EncryptedRecord()));
  for (const char* alg : {"AES-128-GCM", "aes-256-gcm", "ChaCha20-Poly1305", "", "None"}) {
    doc["value"]["alg"] = alg;
    auto r = DecodeSecretRecord(doc.dump());
    ASSERT_FALSE(r.ok()) << "accepted algorithm \"" << alg << "\"";
  }
  doc["value"]["alg"] = "AES-128-GCM";
  auto r = DecodeSecretRecord(doc.dump());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("algorithm"), std::string::npos) << r.status().ToString();
}

// --- AAD --------------------------------------------------------------------------------------------------------

TEST(SecretAadTest, AadIsUnambiguousWhenEnvironmentAndNameConcatenateTheSame) {
  EXPECT_NE(SecretAad("ab", "c"), SecretAad("a", "bc"));
  EXPECT_NE(SecretAad("abc", ""), SecretAad("", "abc"));
  EXPECT_NE(SecretAad("prod", "A"), SecretAad("pro", "dA"));
  EXPECT_NE(SecretAad("production", "A"), SecretAad("staging", "A"));
  EXPECT_NE(SecretAad("production", "A"), SecretAad("production", "B"));
  EXPECT_EQ(SecretAad("production", "A"), SecretAad("production", "A"));
}

TEST(SecretAadTest, AadIsVersionedAndCarriesBothParts) {
  const std::string aad = SecretAad("production", "STRIPE_KEY");
  EXPECT_EQ(aad.rfind("ironflow/secret/v" + std::to_string(kSecretFormatVersion), 0), 0u) << aad;
  EXPECT_NE(aad.find("production"), std::string::npos);
  EXPECT_NE(aad.find("STRIPE_KEY"), std::string::npos);
}

TEST(SecretKeyTest, KvKeyIsEnvironmentDotName) {
  EXPECT_EQ(SecretKey("production", "STRIPE_KEY"), "production.STRIPE_KEY");
}

// --- ValueSealer ------------------------------------------------------------------------------------------------

TEST(ValueSealerTest, SealThenOpenAtTheSamePlaceReturnsTheValue) {
  ValueSealer sealer(RandomKey());
  ASSERT_TRUE(sealer.encrypting());
  for (const std::string& value : {std::string(kPlaintext), std::string(), std::string(100000, 'v')}) {
    auto sealed = sealer.Seal("production", "STRIPE_KEY", value);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    EXPECT_EQ(sealed->algorithm, std::string(kAlgorithmAesGcm));
    EXPECT_EQ(sealed->key_id, sealer.key_id());
    EXPECT_TRUE(sealed->plaintext.empty());
    auto opened = sealer.Open("production", "STRIPE_KEY", sealed.value());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(opened->view(), value);
  }
}

TEST(ValueSealerTest, SealedValueSurvivesTheRecordCodecAndStillOpens) {
  ValueSealer sealer(RandomKey());
  SecretRecord r;
  r.environment = "production";
  r.name = "STRIPE_KEY";
  auto sealed = sealer.Seal(r.environment, r.name, kPlaintext);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  r.value = sealed.value();
  auto decoded = DecodeSecretRecord(EncodeSecretRecord(r));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  auto opened = sealer.Open(decoded->environment, decoded->name, decoded->value);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->view(), kPlaintext);
}

TEST(ValueSealerTest, CiphertextMovedToAnotherNameFailsToDecrypt) {
  ValueSealer sealer(RandomKey());
  auto sealed = sealer.Seal("production", "STRIPE_KEY", kPlaintext);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  for (const char* other : {"STRIPE_KEY2", "STRIPE_KE", "stripe_key", "DB_PASSWORD"}) {
    auto opened = sealer.Open("production", other, sealed.value());
    ASSERT_FALSE(opened.ok()) << "value sealed for STRIPE_KEY opened as " << other;
    EXPECT_EQ(opened.status().message().find(kPlaintext), std::string::npos) << opened.status().ToString();
  }
}

TEST(ValueSealerTest, CiphertextMovedToAnotherEnvironmentFailsToDecrypt) {
  ValueSealer sealer(RandomKey());
  auto sealed = sealer.Seal("production", "STRIPE_KEY", kPlaintext);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  for (const char* other : {"staging", "productio", "production-eu", "dev"}) {
    auto opened = sealer.Open(other, "STRIPE_KEY", sealed.value());
    ASSERT_FALSE(opened.ok()) << "value sealed in production opened in " << other;
    EXPECT_EQ(opened.status().message().find(kPlaintext), std::string::npos) << opened.status().ToString();
  }
}

TEST(ValueSealerTest, CiphertextMovedAcrossTheEnvironmentNameBoundaryFailsToDecrypt) {
  ValueSealer sealer(RandomKey());
  auto sealed = sealer.Seal("ab", "c", kPlaintext);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_FALSE(sealer.Open("a", "bc", sealed.value()).ok());
  EXPECT_TRUE(sealer.Open("ab", "c", sealed.value()).ok());
}

TEST(ValueSealerTest, DevModeStoresPlaintextAndOpensIt) {
  ValueSealer sealer(std::nullopt);
  EXPECT_FALSE(sealer.encrypting());
  EXPECT_TRUE(sealer.key_id().empty());
  auto sealed = sealer.Seal("dev", "DB_PASSWORD", kPlaintext);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->algorithm, std::string(kAlgorithmNone));
  EXPECT_FALSE(sealed->encrypted());
  EXPECT_EQ(sealed->plaintext.view(), kPlaintext);
  EXPECT_TRUE(sealed->key_id.empty());
  EXPECT_TRUE(sealed->ciphertext.empty());
  auto opened = sealer.Open("dev", "DB_PASSWORD", sealed.value());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->view(), kPlaintext);
}

TEST(ValueSealerTest, DevModeValueStaysReadableAfterAKeyIsConfigured) {
  auto dev = ValueSealer(std::nullopt).Seal("dev", "DB_PASSWORD", kPlaintext);
  ASSERT_TRUE(dev.ok());
  auto opened = ValueSealer(RandomKey()).Open("dev", "DB_PASSWORD", dev.value());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->view(), kPlaintext);
}

TEST(ValueSealerTest, EncryptedValueWithoutAKeyFailsWithoutReleasingIt) {
  auto sealed = ValueSealer(RandomKey()).Seal("production", "STRIPE_KEY", kPlaintext);
  ASSERT_TRUE(sealed.ok());
  auto opened = ValueSealer(std::nullopt).Open("production", "STRIPE_KEY", sealed.value());
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("STRIPE_KEY"), std::string::npos) << opened.status().ToString();
  EXPECT_EQ(opened.status().message().find(kPlaintext), std::string::npos);
}

TEST(ValueSealerTest, ValueSealedUnderAnotherKeyFailsNamingBothKeyIdsAndNotTheValue) {
  ValueSealer a(RandomKey());
  ValueSealer b(RandomKey());
  ASSERT_NE(a.key_id(), b.key_id());
  auto sealed = a.Seal("production", "STRIPE_KEY", kPlaintext);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  auto opened = b.Open("production", "STRIPE_KEY", sealed.value());
  ASSERT_FALSE(opened.ok());
  const std::string& msg = opened.status().message();
  EXPECT_NE(msg.find(a.key_id()), std::string::npos) << msg;
  EXPECT_NE(msg.find(b.key_id()), std::string::npos) << msg;
  EXPECT_NE(msg.find("STRIPE_KEY"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(kPlaintext), std::string::npos) << msg;
  EXPECT_EQ(msg.find("sk_live"), std::string::npos) << msg;
}

TEST(ValueSealerTest, ValueUnderAnotherKeyFailsEvenIfItsKeyIdIsForged) {
  // The key id in a record is not trusted: relabelling it with the server's id still fails on the tag.
  ValueSealer a(RandomKey());
  ValueSealer b(RandomKey());
  auto sealed = a.Seal("production", "STRIPE_KEY", kPlaintext);
  ASSERT_TRUE(sealed.ok());
  SealedValue forged = sealed.value();
  forged.key_id = b.key_id();
  auto opened = b.Open("production", "STRIPE_KEY", forged);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().message().find(kPlaintext), std::string::npos);
}

TEST(ValueSealerTest, TamperedCiphertextFailsToDecrypt) {
  ValueSealer sealer(RandomKey());
  auto sealed = sealer.Seal("production", "STRIPE_KEY", kPlaintext);
  ASSERT_TRUE(sealed.ok());
  SealedValue tampered = sealed.value();
  tampered.ciphertext[0] ^= 0x01;
  EXPECT_FALSE(sealer.Open("production", "STRIPE_KEY", tampered).ok());
  SealedValue bad_nonce = sealed.value();
  bad_nonce.nonce.pop_back();
  EXPECT_FALSE(sealer.Open("production", "STRIPE_KEY", bad_nonce).ok());
}

}  // namespace
}  // namespace ironflow::server
