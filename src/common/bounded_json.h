// The one way this code base parses JSON it did not just build itself: nesting checked first (json_nesting.h).
// Includes nlohmann/json: include it from .cc files only (never from a widely included header).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/json_nesting.h"

namespace ironflow {

// Parses `text`; a discarded value (is_discarded()) when it is not JSON or nests deeper than `limit` (then
// *too_deep, if given, is set). Never throws. The default fits server-built documents (records, answers); routes
// that read client input check kMaxJsonNesting first (CheckJsonNesting) or pass it.
nlohmann::json ParseBoundedJson(std::string_view text, bool* too_deep = nullptr, size_t limit = kMaxEnvelopeNesting);

// Overwrites every string (values and object keys are not touched: keys are field names) inside `j` with
// OPENSSL_cleanse before it is freed: trees parsed from request bodies may hold secret values. Iterative, so a tree
// of any depth is wiped without recursion.
void WipeJsonStrings(nlohmann::json& j);

}  // namespace ironflow
