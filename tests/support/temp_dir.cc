#include "support/temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/hex.h"
#include "crypto/digest.h"

namespace ironflow::server::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/ironflow-test-XXXXXX";
  char* made = mkdtemp(tmpl.data());
  path_ = made ? made : "";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool AnyFileContains(const std::string& dir, const std::string& needle, std::string* found_in) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    if (ReadFile(it->path().string()).find(needle) != std::string::npos) {
      if (found_in) *found_in = it->path().string();
      return true;
    }
  }
  return false;
}

std::string RandomHex(size_t n) { return HexEncode(RandomBytes(n)); }

}  // namespace ironflow::server::testing
