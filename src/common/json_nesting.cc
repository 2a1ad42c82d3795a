#include "common/json_nesting.h"

#include <string>

namespace ironflow {

size_t JsonNestingDepth(std::string_view text, size_t stop_after) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > deepest) {
          deepest = depth;
          if (deepest > stop_after) return deepest;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return deepest;
}

Status CheckJsonNesting(std::string_view text, std::string_view what) {
  if (JsonNestingDepth(text) <= kMaxJsonNesting) return Status::Ok();
  return Status::InvalidArgument(std::string(what) + " nests arrays/objects deeper than " +
                                 std::to_string(kMaxJsonNesting) + " levels");
}

}  // namespace ironflow
