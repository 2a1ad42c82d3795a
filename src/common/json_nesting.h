// Bounded JSON: a nesting limit for every JSON text the server, the CLI or an SDK reads, checked before parsing.
//
// nlohmann's parser is iterative, but copying, comparing, serializing and walking a parsed tree recurse once per
// level, so a 400 KB body nested 200,000 deep would overflow the stack in any of them. Every reader therefore
// checks the text first (one linear pass, no allocation) and refuses anything deeper than kMaxJsonNesting. Texts
// stored before the limit existed are served without being parsed (see ConfigStore) or walked iteratively.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/status.h"

namespace ironflow {

// Deepest array/object nesting accepted in anything a client sends ("[[1]]" is depth 2; a scalar is depth 0).
inline constexpr size_t kMaxJsonNesting = 64;
// Deepest nesting accepted in documents the server builds around client input (a run record holds the event data
// under {"event":{"data":...}}, a pull answer holds it under {"jobs":[{"event":{"data":...}}]}): room for those
// envelopes, still far from any stack limit.
inline constexpr size_t kMaxEnvelopeNesting = kMaxJsonNesting + 16;

// The deepest array/object nesting of `text`, scanning at most until it exceeds `stop_after` (brackets inside
// strings, with escapes, are ignored). Works on any bytes: invalid JSON is measured as far as its brackets go.
size_t JsonNestingDepth(std::string_view text, size_t stop_after = kMaxJsonNesting);

// kInvalidArgument naming `what` and the limit when `text` nests deeper than kMaxJsonNesting (client input).
Status CheckJsonNesting(std::string_view text, std::string_view what);

}  // namespace ironflow
