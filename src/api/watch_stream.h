// WatchStream: serves a watch (a config document's, a KV bucket's) as Server-Sent Events with the framing of
// /api/v1/stream. The first frame is `: subscribed`; then one `data:` frame per JSON text the watch hands to its
// sink (the current values first, then each change in order). Frames arrive on the watch's own thread; the watch
// (and whatever it reads) lives as long as the HTTP stream. Internal to src/api.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "http/http_message.h"
#include "store/kv_bucket.h"

namespace ironflow::server::api {

// `to_frame(entry, deleted, replay)` returns the frame's JSON text, or nullopt to skip the entry. `replay` is true
// for the current values sent first.
using WatchFrame = std::function<std::optional<std::string>(const KvEntry& entry, bool deleted, bool replay)>;
// Sends one frame (JSON text) to the stream's client; a no-op once the client has gone.
using FrameSink = std::function<void(const std::string& frame_json)>;
// Starts the watch that feeds `sink`; what it returns is kept alive exactly as long as the stream.
using WatchStarter = std::function<Result<std::shared_ptr<void>>(FrameSink sink)>;

Result<HttpResponse> WatchStream(const WatchStarter& start);
// A WatchStream over the keys of `bucket` matching `filter`, each entry turned into a frame by `to_frame`.

Result<HttpResponse> KvWatchStream(std::shared_ptr<KvBucket> bucket, const std::string& filter, WatchFrame to_frame);

}  // namespace ironflow::server::api
