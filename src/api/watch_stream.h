// KvWatchStream: serves a KV watch as Server-Sent Events with the framing of /api/v1/stream. The first frame is
// `: subscribed`; then one frame per entry that `to_frame` turns into text (the current values first, then each
// change in order). Entries arrive on the watch's own thread; the watch (and the bucket handle it reads) live as
// long as the HTTP stream. Internal to src/api.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "http/http_message.h"
#include "store/kv_bucket.h"

namespace ironflow::api {

// `to_frame(entry, deleted, replay)` returns the frame's JSON text, or nullopt to skip the entry. `replay` is true
// for the current values sent first.
using WatchFrame = std::function<std::optional<std::string>(const KvEntry& entry, bool deleted, bool replay)>;

Result<HttpResponse> KvWatchStream(std::shared_ptr<KvBucket> bucket, const std::string& filter, WatchFrame to_frame);

}  // namespace ironflow::api
