// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
#pragma once

#include <string>

namespace ironflow::server::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Reads a whole file; empty string if unreadable.
std::string ReadFile(const std::string& path);
// True when any regular file under `dir` contains `needle` (binary-safe).
bool AnyFileContains(const std::string& dir, const std::string& needle, std::string* found_in = nullptr);
// A random lowercase-hex string of n bytes of entropy (2n chars), e.g. for unique secret values.
std::string RandomHex(size_t n);

}  // namespace ironflow::server::testing
