#include "common/bounded_json.h"

#include <vector>

#include "common/json_nesting.h"
#include "crypto/secure_bytes.h"

namespace ironflow {

nlohmann::json ParseBoundedJson(std::string_view text, bool* too_deep, size_t limit) {
  if (too_deep != nullptr) *too_deep = false;
  if (JsonNestingDepth(text, limit) > limit) {
    if (too_deep != nullptr) *too_deep = true;
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

void WipeJsonStrings(nlohmann::json& j) {
  std::vector<nlohmann::json*> pending{&j};
  while (!pending.empty()) {
    nlohmann::json* node = pending.back();
    pending.pop_back();
    if (node->is_string()) {
      Cleanse(node->get_ref<std::string&>());
    } else if (node->is_structured()) {
      for (auto& child : *node) pending.push_back(&child);
    }
  }
}

}  // namespace ironflow
