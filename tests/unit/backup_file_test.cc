// The backup container (src/backup/backup_file.h): a file is used only when its trailer's MAC, under the master
// key's backup MAC key, covers exactly the bytes and lines it holds. Truncated, reordered, edited or foreign files
// are refused before any line is handed out.
#include "backup/backup_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/digest.h"

namespace ironflow::server {
namespace {

class BackupFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/ironflow-backup-file-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/backup.jsonl";
    mac_key_ = RandomBytes(32);
  }
  void TearDown() override {
    std::remove(path_.c_str());
    ::rmdir(dir_.c_str());
  }

  // Writes a header and `body` with BackupWriter; returns the whole file.
  std::string WriteBackupFile(const std::vector<std::string>& body) {
    std::FILE* f = std::fopen(path_.c_str(), "w");
    EXPECT_NE(f, nullptr);
    BackupWriter w(f, mac_key_);
    EXPECT_TRUE(w.Write(R"({"format":"ironflow-backup","version":1})").ok());
    for (const auto& line : body) EXPECT_TRUE(w.Write(line).ok());
    EXPECT_TRUE(w.Finish().ok());
    std::fclose(f);
    return Read();
  }
  std::string Read() {
    std::ifstream in(path_, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void Replace(const std::string& content) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << content;
  }
  Status LoadAndVerify() {
    auto f = BackupFile::Load(path_);
    if (!f.ok()) return f.status();
    return f->Verify(mac_key_);
  }

  std::string dir_, path_;
  std::vector<uint8_t> mac_key_;
};

const std::vector<std::string> kBody = {R"({"kv":"ironflow-secrets"})", R"({"key":"a","op":"PUT","value":"1"})",
                                        R"({"key":"b","op":"PUT","value":"2"})"};

TEST_F(BackupFileTest, AnUntouchedFileVerifiesAndHandsOutItsLinesInOrder) {
  WriteBackupFile(kBody);
  auto f = BackupFile::Load(path_);
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_TRUE(f->Verify(mac_key_).ok());
  EXPECT_EQ(f->header(), R"({"format":"ironflow-backup","version":1})");
  ASSERT_EQ(f->body().size(), kBody.size());
  for (size_t i = 0; i < kBody.size(); ++i) EXPECT_EQ(f->body()[i], kBody[i]);
}

TEST_F(BackupFileTest, AnEmptyBodyStillVerifies) {
  WriteBackupFile({});
  EXPECT_TRUE(LoadAndVerify().ok());
}

TEST_F(BackupFileTest, OneChangedByteAnywhereIsRefused) {
  const std::string good = WriteBackupFile(kBody);
  const size_t trailer = good.rfind('\n', good.size() - 2);
  for (size_t pos : {size_t{2}, good.find("\"1\"") + 1, trailer - 1}) {
    std::string bad = good;
    bad[pos] = bad[pos] == 'x' ? 'y' : 'x';
    Replace(bad);
    EXPECT_TRUE(LoadAndVerify().is(Code::kPermissionDenied)) << "byte " << pos;
  }
}

TEST_F(BackupFileTest, SwappedLinesAreRefused) {
  std::string good = WriteBackupFile(kBody);
  std::string swapped = good;
  const std::string a = kBody[1] + "\n", b = kBody[2] + "\n";
  swapped.replace(swapped.find(a), a.size() + b.size(), b + a);
  ASSERT_NE(swapped, good);
  Replace(swapped);
  EXPECT_TRUE(LoadAndVerify().is(Code::kPermissionDenied));
}

TEST_F(BackupFileTest, ATruncatedFileIsRefused) {
  const std::string good = WriteBackupFile(kBody);
  // Cut inside the trailer, just before it, and a whole body line out (the trailer kept).
  const size_t trailer = good.rfind('\n', good.size() - 2) + 1;
  Replace(good.substr(0, good.size() - 5));
  EXPECT_FALSE(LoadAndVerify().ok());
  Replace(good.substr(0, trailer));
  EXPECT_FALSE(LoadAndVerify().ok());
  std::string dropped = good;
  dropped.erase(dropped.find(kBody[2]), kBody[2].size() + 1);
  Replace(dropped);
  EXPECT_TRUE(LoadAndVerify().is(Code::kPermissionDenied));
  Replace("");
  EXPECT_TRUE(LoadAndVerify().is(Code::kInvalidArgument));
}

TEST_F(BackupFileTest, AFileMadeUnderAnotherKeyIsRefused) {
  WriteBackupFile(kBody);
  auto f = BackupFile::Load(path_);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->Verify(RandomBytes(32)).is(Code::kPermissionDenied));
}

TEST_F(BackupFileTest, AMissingFileIsNotFound) {
  EXPECT_TRUE(BackupFile::Load(dir_ + "/nope").status().is(Code::kNotFound));
}

}  // namespace
}  // namespace ironflow::server
