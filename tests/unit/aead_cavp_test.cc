// Known-answer and tamper tests for Aes256Gcm.
//
// The known answers are NIST CAVP's AES-256-GCM vectors (96-bit IV, 128-bit tag sections only; see
// tests/data/aes-gcm/README.md). A missing or unreadable vector file is a test failure naming the path, never
// a skip: a green run must mean the vectors actually ran.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/hex.h"
#include "crypto/aead.h"
#include "crypto/digest.h"

namespace ironflow::server {
namespace {

const std::string kEncryptVectors = IRONFLOW_SOURCE_DIR "/tests/data/aes-gcm/gcmEncryptExtIV256.rsp";
const std::string kDecryptVectors = IRONFLOW_SOURCE_DIR "/tests/data/aes-gcm/gcmDecrypt256.rsp";

constexpr size_t kExpectedEncryptCases = 375;
constexpr size_t kExpectedValidDecryptCases = 184;
constexpr size_t kExpectedFailDecryptCases = 191;

// One `Count = i` record with the section parameters it was found under.
struct CavpCase {
  int line = 0;                            // line of its `Count =` in the file
  std::map<std::string, std::string> hex;  // Key, IV, PT, AAD, CT, Tag -> hex ("" for zero length)
  std::map<std::string, size_t> section;   // Keylen, IVlen, PTlen, AADlen, Taglen -> bits
  bool fail = false;                       // a bare FAIL line: authentication must fail

  std::string where(const std::string& path) const {
    return path + ":" + std::to_string(line) + " (Count = " + (hex.count("Count") ? hex.at("Count") : "?") + ")";
  }
  bool has(const std::string& field) const { return hex.count(field) != 0; }
  std::vector<uint8_t> bytes(const std::string& field) const {
    auto decoded = HexDecode(hex.at(field));
    return decoded ? *decoded : std::vector<uint8_t>();
  }
};

struct CavpFile {
  std::vector<CavpCase> cases;
  std::string error;  // empty when the file was read and parsed
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Parses a CAVP .rsp file. Any line it does not understand is an error, so a format change cannot silently drop
// cases.
CavpFile LoadCavp(const std::string& path) {
  CavpFile out;
  std::ifstream in(path);
  if (!in) {
    out.error = "cannot open NIST CAVP vector file " + path;
    return out;
  }
  std::map<std::string, size_t> section;
  std::string raw;
  int line_no = 0;
  auto fail = [&](const std::string& why) {
    out.error = path + ":" + std::to_string(line_no) + ": " + why;
    out.cases.clear();
    return out;
  };
  while (std::getline(in, raw)) {
    ++line_no;
    std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[') {
      if (line.back() != ']') return fail("unterminated section header");
      std::string_view body = line.substr(1, line.size() - 2);
      size_t eq = body.find('=');
      if (eq == std::string_view::npos) return fail("section header without '='");
      std::string name(Trim(body.substr(0, eq)));
      std::string value(Trim(body.substr(eq + 1)));
      if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
        return fail("section value is not a number");
      }
      section[name] = std::stoul(value);
      continue;
    }
    if (line == "FAIL") {
      if (out.cases.empty()) return fail("FAIL before any Count");
      out.cases.back().fail = true;
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return fail("unrecognised line");
    std::string name(Trim(line.substr(0, eq)));
    std::string value(Trim(line.substr(eq + 1)));
    if (name == "Count") {
      CavpCase c;
      c.line = line_no;
      c.section = section;
      c.hex["Count"] = value;
      out.cases.push_back(std::move(c));
      continue;
    }
    if (out.cases.empty()) return fail("field before any Count");
    if (!HexDecode(value)) return fail("field " + name + " is not hex");
    if (!out.cases.back().hex.emplace(name, value).second) return fail("field " + name + " repeated");
  }
  if (in.bad()) return fail("read error");
  if (out.cases.empty()) out.error = "no test cases found in " + path;
  return out;
}

// Checks that a case carries every field it needs and that each field's length agrees with its section header, so
// a parser slip (a field attributed to the wrong case, a truncated value) shows up as a failure of its own.
::testing::AssertionResult WellFormed(const CavpCase& c, const std::string& path,
                                      const std::vector<std::string>& fields) {
  for (const auto& f : fields) {
    if (!c.has(f)) return ::testing::AssertionFailure() << c.where(path) << ": missing field " << f;
  }
  const std::pair<const char*, const char*> lengths[] = {{"Key", "Keylen"}, {"IV", "IVlen"}, {"AAD", "AADlen"},
                                                         {"Tag", "Taglen"}, {"PT", "PTlen"}, {"CT", "PTlen"}};
  for (const auto& [field, param] : lengths) {
    if (!c.has(field)) continue;
    if (!c.section.count(param)) return ::testing::AssertionFailure() << c.where(path) << ": no [" << param << "]";
    if (c.hex.at(field).size() * 4 != c.section.at(param)) {
      return ::testing::AssertionFailure() << c.where(path) << ": " << field << " is " << c.hex.at(field).size() * 4
                                           << " bits, section says " << param << " = " << c.section.at(param);
    }
  }
  return ::testing::AssertionSuccess();
}

std::vector<uint8_t> Concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(AeadCavpTest, MissingVectorFileIsAFailureNamingThePath) {
  const std::string missing = IRONFLOW_SOURCE_DIR "/tests/data/aes-gcm/no-such-file.rsp";
  CavpFile f = LoadCavp(missing);
  EXPECT_TRUE(f.cases.empty());
  EXPECT_NE(f.error.find(missing), std::string::npos) << f.error;
}

TEST(AeadCavpTest, EverySealMatchesNistCiphertextAndTag) {
  CavpFile f = LoadCavp(kEncryptVectors);
  ASSERT_TRUE(f.error.empty()) << f.error;
  ASSERT_EQ(f.cases.size(), kExpectedEncryptCases) << "unexpected number of encrypt cases in " << kEncryptVectors;
  size_t checked = 0;
  for (const CavpCase& c : f.cases) {
    ASSERT_TRUE(WellFormed(c, kEncryptVectors, {"Key", "IV", "PT", "AAD", "CT", "Tag"}));
    ASSERT_FALSE(c.fail) << c.where(kEncryptVectors) << ": FAIL in an encrypt file";
    Aes256Gcm aead(c.bytes("Key"));
    auto sealed = aead.Seal(c.bytes("IV"), c.bytes("PT"), c.bytes("AAD"));
    ASSERT_TRUE(sealed.ok()) << c.where(kEncryptVectors) << ": " << sealed.status().ToString();
    EXPECT_EQ(HexEncode(sealed.value()), HexEncode(Concat(c.bytes("CT"), c.bytes("Tag")))) << c.where(kEncryptVectors);
    ++checked;
  }
  EXPECT_EQ(checked, kExpectedEncryptCases);
}

TEST(AeadCavpTest, EveryEncryptVectorOpensBackToItsPlaintext) {
  CavpFile f = LoadCavp(kEncryptVectors);
  ASSERT_TRUE(f.error.empty()) << f.error;
  ASSERT_EQ(f.cases.size(), kExpectedEncryptCases);
  for (const CavpCase& c : f.cases) {
    ASSERT_TRUE(WellFormed(c, kEncryptVectors, {"Key", "IV", "PT", "AAD", "CT", "Tag"}));
    Aes256Gcm aead(c.bytes("Key"));
    auto opened = aead.Open(c.bytes("IV"), Concat(c.bytes("CT"), c.bytes("Tag")), c.bytes("AAD"));
    ASSERT_TRUE(opened.ok()) << c.where(kEncryptVectors) << ": " << opened.status().ToString();
    EXPECT_EQ(HexEncode(opened->data(), opened->size()), c.hex.at("PT")) << c.where(kEncryptVectors);
  }
}

TEST(AeadCavpTest, EveryValidDecryptVectorOpensToNistPlaintext) {
  CavpFile f = LoadCavp(kDecryptVectors);
  ASSERT_TRUE(f.error.empty()) << f.error;
  ASSERT_EQ(f.cases.size(), kExpectedValidDecryptCases + kExpectedFailDecryptCases)
      << "unexpected number of decrypt cases in " << kDecryptVectors;
  size_t valid = 0;
  for (const CavpCase& c : f.cases) {
    if (c.fail) continue;
    ASSERT_TRUE(WellFormed(c, kDecryptVectors, {"Key", "IV", "CT", "AAD", "Tag", "PT"}));
    Aes256Gcm aead(c.bytes("Key"));
    auto opened = aead.Open(c.bytes("IV"), Concat(c.bytes("CT"), c.bytes("Tag")), c.bytes("AAD"));
    ASSERT_TRUE(opened.ok()) << c.where(kDecryptVectors) << ": " << opened.status().ToString();
    EXPECT_EQ(HexEncode(opened->data(), opened->size()), c.hex.at("PT")) << c.where(kDecryptVectors);
    ++valid;
  }
  EXPECT_EQ(valid, kExpectedValidDecryptCases);
}

TEST(AeadCavpTest, EveryFailVectorReleasesNoPlaintext) {
  CavpFile f = LoadCavp(kDecryptVectors);
  ASSERT_TRUE(f.error.empty()) << f.error;
  ASSERT_EQ(f.cases.size(), kExpectedValidDecryptCases + kExpectedFailDecryptCases)
      << "unexpected number of decrypt cases in " << kDecryptVectors;
  size_t failed = 0;
  for (const CavpCase& c : f.cases) {
    if (!c.fail) continue;
    ASSERT_TRUE(WellFormed(c, kDecryptVectors, {"Key", "IV", "CT", "AAD", "Tag"}));
    ASSERT_FALSE(c.has("PT")) << c.where(kDecryptVectors) << ": FAIL case also gives a PT";
    Aes256Gcm aead(c.bytes("Key"));
    auto opened = aead.Open(c.bytes("IV"), Concat(c.bytes("CT"), c.bytes("Tag")), c.bytes("AAD"));
    EXPECT_FALSE(opened.ok()) << c.where(kDecryptVectors) << ": forged input was accepted";
    ++failed;
  }
  EXPECT_EQ(failed, kExpectedFailDecryptCases);
}

// Property tests over a random key, nonce, plaintext and AAD.
class AeadTamperTest : public ::testing::Test {
 protected:
  std::vector<uint8_t> key_ = RandomBytes(Aes256Gcm::kKeyBytes);
  std::vector<uint8_t> nonce_ = RandomBytes(Aes256Gcm::kNonceBytes);
  std::vector<uint8_t> plaintext_ = RandomBytes(37);  // not a multiple of the block size
  std::vector<uint8_t> aad_ = RandomBytes(21);
  Aes256Gcm aead_{key_};

  std::vector<uint8_t> SealOrDie() {
    auto sealed = aead_.Seal(nonce_, plaintext_, aad_);
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    if (!sealed.ok()) return {};
    EXPECT_EQ(sealed->size(), plaintext_.size() + Aes256Gcm::kTagBytes);
    return sealed.value();
  }
};

TEST_F(AeadTamperTest, UntamperedSealOpensToPlaintext) {
  auto sealed = SealOrDie();
  auto opened = aead_.Open(nonce_, sealed, aad_);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(HexEncode(opened->data(), opened->size()), HexEncode(plaintext_));
}

TEST_F(AeadTamperTest, FlippingAnyCiphertextOrTagBitFailsOpen) {
  const auto sealed = SealOrDie();
  ASSERT_FALSE(sealed.empty());
  for (size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    auto tampered = sealed;
    tampered[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(aead_.Open(nonce_, tampered, aad_).ok())
        << "flipping bit " << bit << " of " << (bit / 8 < plaintext_.size() ? "ciphertext" : "tag")
        << " went unnoticed";
  }
}

TEST_F(AeadTamperTest, FlippingAnyAadBitFailsOpen) {
  const auto sealed = SealOrDie();
  ASSERT_FALSE(sealed.empty());
  for (size_t bit = 0; bit < aad_.size() * 8; ++bit) {
    auto tampered = aad_;
    tampered[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(aead_.Open(nonce_, sealed, tampered).ok()) << "flipping AAD bit " << bit << " went unnoticed";
  }
}

TEST_F(AeadTamperTest, FlippingAnyNonceBitFailsOpen) {
  const auto sealed = SealOrDie();
  ASSERT_FALSE(sealed.empty());
  for (size_t bit = 0; bit < nonce_.size() * 8; ++bit) {
    auto tampered = nonce_;
    tampered[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(aead_.Open(tampered, sealed, aad_).ok()) << "flipping nonce bit " << bit << " went unnoticed";
  }
}

TEST_F(AeadTamperTest, AddingOrDroppingAadOrCiphertextBytesFailsOpen) {
  const auto sealed = SealOrDie();
  ASSERT_FALSE(sealed.empty());
  auto longer_aad = aad_;
  longer_aad.push_back(0);
  EXPECT_FALSE(aead_.Open(nonce_, sealed, longer_aad).ok());
  EXPECT_FALSE(aead_.Open(nonce_, sealed, std::vector<uint8_t>(aad_.begin(), aad_.end() - 1)).ok());
  EXPECT_FALSE(aead_.Open(nonce_, sealed, {}).ok());
  for (size_t keep = 0; keep < sealed.size(); ++keep) {
    EXPECT_FALSE(aead_.Open(nonce_, std::vector<uint8_t>(sealed.begin(), sealed.begin() + keep), aad_).ok())
        << "truncated to " << keep << " bytes";
  }
  auto extended = sealed;
  extended.push_back(0);
  EXPECT_FALSE(aead_.Open(nonce_, extended, aad_).ok());
}

TEST_F(AeadTamperTest, OpenWithAnotherKeyFails) {
  const auto sealed = SealOrDie();
  ASSERT_FALSE(sealed.empty());
  auto other_key = key_;
  other_key[0] ^= 1;
  EXPECT_FALSE(Aes256Gcm(other_key).Open(nonce_, sealed, aad_).ok());
}

TEST(AeadNonceTest, SealAndOpenRejectANonceThatIsNot12Bytes) {
  Aes256Gcm aead(RandomBytes(Aes256Gcm::kKeyBytes));
  const auto plaintext = RandomBytes(16);
  const auto aad = RandomBytes(8);
  auto good = aead.Seal(RandomBytes(Aes256Gcm::kNonceBytes), plaintext, aad);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  for (size_t n : std::initializer_list<size_t>{0, 1, 8, 11, 13, 16, 32, 64}) {
    auto nonce = RandomBytes(n);
    auto sealed = aead.Seal(nonce, plaintext, aad);
    ASSERT_FALSE(sealed.ok()) << "Seal accepted a " << n << "-byte nonce";
    EXPECT_TRUE(sealed.status().is(Code::kInvalidArgument)) << sealed.status().ToString();
    EXPECT_FALSE(aead.Open(nonce, good.value(), aad).ok()) << "Open accepted a " << n << "-byte nonce";
  }
}

}  // namespace
}  // namespace ironflow::server
