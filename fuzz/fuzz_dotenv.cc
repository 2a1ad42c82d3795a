// Fuzz target: the dotenv parser of `ironflow secret import` (files come from anywhere).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cli/dotenv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = ironflow::server::cli::ParseDotenv(std::string_view(reinterpret_cast<const char*>(data), size));
  if (parsed.ok()) {
    for (const auto& e : *parsed) {
      if (e.name.empty() || e.line < 1) __builtin_trap();
    }
  }
  return 0;
}
