#include "api/watch_stream.h"

#include "store/kv_watch.h"

namespace ironflow::server::api {
namespace {

// Owns the bucket handle and the watch reading it; members are destroyed in reverse order, the watch first.
struct WatchHolder {
  std::shared_ptr<KvBucket> bucket;
  std::unique_ptr<KvWatch> watch;
};

}  // namespace

Result<HttpResponse> WatchStream(const WatchStarter& start) {
  auto stream = std::make_shared<EventStream>();
  std::weak_ptr<EventStream> weak = stream;
  // Pushed before the watch starts, so it precedes every entry. Nothing can be missed in between: a watch
  // replays the current value of each key, so a write made before it started shows up in the replay.
  stream->Push(": subscribed\n\n");
  auto keep = start([weak](const std::string& frame) {
    if (auto s = weak.lock()) s->Push("data: " + frame + "\n\n");
  });
  if (!keep.ok()) return keep.status();
  stream->keep_alive = std::move(keep).value();
  HttpResponse r;
  r.content_type = "text/event-stream";
  r.stream = stream;
  return r;
}

Result<HttpResponse> KvWatchStream(std::shared_ptr<KvBucket> bucket, const std::string& filter, WatchFrame to_frame) {
  return WatchStream([&](FrameSink sink) -> Result<std::shared_ptr<void>> {
    auto replaying = std::make_shared<bool>(true);  // touched only on the watch thread
    KvWatch::Options options;
    options.filter = filter;
    options.on_caught_up = [replaying] { *replaying = false; };
    auto holder = std::make_shared<WatchHolder>();
    holder->bucket = bucket;
    auto watch = KvWatch::Start(
        *bucket,
        [replaying, sink = std::move(sink), to_frame = std::move(to_frame)](const KvEntry& e, bool deleted) {
          if (auto frame = to_frame(e, deleted, *replaying)) sink(*frame);
        },
        options);
    if (!watch.ok()) return watch.status();
    holder->watch = std::move(watch).value();
    return std::shared_ptr<void>(holder);
  });
}

}  // namespace ironflow::server::api
