#include "runtime/redactor.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

namespace ironflow::server {

namespace {

// How `value` appears inside JSON text (quotes, backslashes and control characters escaped), without the quotes.
SecretString JsonEscaped(std::string_view value) {
  nlohmann::json j = std::string(value);
  std::string dumped = j.dump();
  Cleanse(j.get_ref<std::string&>());
  SecretString out(std::string_view(dumped).substr(1, dumped.size() - 2));
  Cleanse(dumped);
  return out;
}

}  // namespace

std::string Redact(std::string text, const SecretValues& values) {
  struct Needle {
    std::string_view bytes;  // a value, or its escaped form in `escaped`
    const std::string* name;
  };
  std::vector<SecretString> escaped;
  escaped.reserve(values.size());  // never reallocated: needles point into it
  std::vector<Needle> needles;
  for (const auto& [name, value] : values) {
    if (value.size() < kMinRedactedValueBytes) continue;
    needles.push_back({value.view(), &name});
    SecretString e = JsonEscaped(value.view());
    if (e.view() != value.view()) {
      escaped.push_back(std::move(e));
      needles.push_back({escaped.back().view(), &name});
    }
  }
  std::sort(needles.begin(), needles.end(),
            [](const auto& a, const auto& b) { return a.bytes.size() > b.bytes.size(); });
  // Mark every byte covered by some occurrence (longest first claims it), then rebuild the text.
  std::vector<int> owner(text.size(), -1);
  for (size_t n = 0; n < needles.size(); ++n) {
    const std::string_view b = needles[n].bytes;
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
    out += "[REDACTED:" + *needles[n].name + "]";
    while (i < text.size() && owner[i] == n) ++i;  // one marker per contiguous span of one secret
  }
  return out;
}

}  // namespace ironflow::server
