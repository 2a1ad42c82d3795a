// RequestTag: which client request a change belongs to, for requests sent with an Idempotency-Key.
//
// `id` is derived from the caller's API key and the Idempotency-Key (api/idempotency.h), so two clients never
// share one. Writes made for the request carry it (a KV message header, deterministic event and run ids), so
// that a retry whose first attempt had an unknown outcome (`retry`) can tell whether that attempt's write
// landed, and answer from it instead of writing again. Empty `id`: an ordinary request.
#pragma once

#include <string>

namespace ironflow::server {

struct RequestTag {
  std::string id;
  bool retry = false;  // an earlier attempt with this id may have written already

  bool empty() const { return id.empty(); }
};

}  // namespace ironflow::server
