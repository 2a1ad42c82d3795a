#include "runtime/redactor.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

namespace ironflow {

std::string Redact(std::string text, const std::map<std::string, std::string>& values) {
  struct Needle {
    std::string bytes;
    std::string name;
  };
  std::vector<Needle> needles;
  for (const auto& [name, value] : values) {
    if (value.size() < kMinRedactedValueBytes) continue;
    needles.push_back({value, name});
    // Inside JSON text a value with quotes, backslashes or control characters appears escaped.
    std::string escaped = nlohmann::json(value).dump();
    escaped = escaped.substr(1, escaped.size() - 2);
    if (escaped != value) needles.push_back({escaped, name});
  }
  std::sort(needles.begin(), needles.end(),
            [](const auto& a, const auto& b) { return a.bytes.size() > b.bytes.size(); });
  // Mark every byte covered by some occurrence (longest first claims it), then rebuild the text.
  std::vector<int> owner(text.size(), -1);
  for (size_t n = 0; n < needles.size(); ++n) {
    const std::string& b = needles[n].bytes;
    for (size_t pos = text.find(b); pos != std::string::npos; pos = text.find(b, pos + 1)) {
      for (size_t i = pos; i < pos + b.size(); ++i) {
        if (owner[i] == -1) owner[i] = static_cast<int>(n);
      }
    }
  }
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (owner[i] == -1) {
      out.push_back(text[i++]);
      continue;
    }
    int n = owner[i];
    out += "[REDACTED:" + needles[n].name + "]";
    while (i < text.size() && owner[i] == n) ++i;  // one marker per contiguous span of one secret
  }
  return out;
}

}  // namespace ironflow
