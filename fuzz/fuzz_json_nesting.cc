// Fuzz target: bounded JSON. Whatever the bytes, the nesting check and the parser agree: nothing deeper than
// kMaxJsonNesting comes out of ParseBoundedJson, and whatever does come out can be serialized, wiped and spliced
// (the recursive operations the limit protects) without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

#include "api/api_util.h"
#include "common/bounded_json.h"
#include "common/json_nesting.h"

namespace {

size_t TreeDepth(const nlohmann::json& root) {
  size_t deepest = 0;
  std::vector<std::pair<const nlohmann::json*, size_t>> pending{{&root, 0}};
  while (!pending.empty()) {
    auto [node, depth] = pending.back();
    pending.pop_back();
    if (!node->is_structured()) continue;
    deepest = std::max(deepest, depth + 1);
    for (const auto& child : *node) pending.emplace_back(&child, depth + 1);
  }
  return deepest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  bool too_deep = false;
  nlohmann::json doc = ironflow::ParseBoundedJson(in, &too_deep, ironflow::kMaxJsonNesting);
  if (too_deep != (ironflow::JsonNestingDepth(in) > ironflow::kMaxJsonNesting)) std::abort();
  if (!doc.is_discarded()) {
    if (TreeDepth(doc) > ironflow::kMaxJsonNesting) std::abort();
    (void)doc.dump();
    ironflow::WipeJsonStrings(doc);
  }
  // Splicing never parses into a tree: any depth is fine.
  (void)ironflow::server::api::JsonWithRawField("data", in, nlohmann::json{{"name", "x"}});
  return 0;
}
