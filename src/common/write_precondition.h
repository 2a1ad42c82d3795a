// WritePrecondition: what a write requires of the current state, the same for every store that takes one (config
// documents, KV keys): create only (If-None-Match: *), or only while the key is at a revision (If-Match). Neither:
// an unconditional write. A precondition that does not hold is kPreconditionFailed and changes nothing.
#pragma once

#include <cstdint>
#include <optional>

namespace ironflow::server {

struct WritePrecondition {
  bool create_only = false;
  std::optional<uint64_t> if_revision;
};

}  // namespace ironflow::server
