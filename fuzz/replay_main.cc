// Replays a fuzz target's corpus without libFuzzer (built with the normal compiler, run by CTest): every file in
// the given directories is passed to LLVMFuzzerTestOneInput once. Crash inputs found by `make fuzz` are added to
// fuzz/corpus/<target>/ so they stay fixed.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  int files = 0;
  for (int a = 1; a < argc; ++a) {
    std::error_code ec;
    if (!std::filesystem::is_directory(argv[a], ec)) {
      std::fprintf(stderr, "not a corpus directory: %s\n", argv[a]);
      return 1;
    }
    for (const auto& entry : std::filesystem::directory_iterator(argv[a])) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++files;
    }
  }
  std::printf("replayed %d input(s) without a crash\n", files);
  return files > 0 ? 0 : 1;
}
