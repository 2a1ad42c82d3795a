// The one way this code base parses JSON it did not just build itself: nesting checked first (json_nesting.h).
// Includes nlohmann/json: include it from .cc files only (never from a widely included header).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace ironflow {

// Parses `text`; a discarded value (is_discarded()) when it is not JSON or nests deeper than kMaxJsonNesting
// (then *too_deep, if given, is set). Never throws.
nlohmann::json ParseBoundedJson(std::string_view text, bool* too_deep = nullptr);

// Overwrites every string (values and object keys are not touched: keys are field names) inside `j` with
// OPENSSL_cleanse before it is freed: trees parsed from request bodies may hold secret values. Iterative, so a tree
// of any depth is wiped without recursion.
void WipeJsonStrings(nlohmann::json& j);

}  // namespace ironflow
