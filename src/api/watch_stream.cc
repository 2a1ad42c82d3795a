#include "api/watch_stream.h"

#include "store/kv_watch.h"

namespace ironflow::api {
namespace {

// Owns the bucket handle and the watch reading it; members are destroyed in reverse order, the watch first.
struct WatchHolder {
  std::shared_ptr<KvBucket> bucket;
  std::unique_ptr<KvWatch> watch;
};

}  // namespace

Result<HttpResponse> KvWatchStream(std::shared_ptr<KvBucket> bucket, const std::string& filter, WatchFrame to_frame) {
  auto stream = std::make_shared<EventStream>();
  std::weak_ptr<EventStream> weak = stream;
  // Pushed before the watch starts, so it precedes every entry. Nothing can be missed in between: the watch
  // replays the current value of each key, so a write made before it started shows up in the replay.
  stream->Push(": subscribed\n\n");
  auto replaying = std::make_shared<bool>(true);  // touched only on the watch thread
  KvWatch::Options options;
  options.filter = filter;
  options.on_caught_up = [replaying] { *replaying = false; };
  auto holder = std::make_shared<WatchHolder>();
  holder->bucket = bucket;
  auto watch = KvWatch::Start(
      *bucket,
      [weak, replaying, to_frame = std::move(to_frame)](const KvEntry& e, bool deleted) {
        auto s = weak.lock();
        if (!s) return;
        if (auto frame = to_frame(e, deleted, *replaying)) s->Push("data: " + *frame + "\n\n");
      },
      options);
  if (!watch.ok()) return watch.status();
  holder->watch = std::move(watch).value();
  stream->keep_alive = holder;
  HttpResponse r;
  r.content_type = "text/event-stream";
  r.stream = stream;
  return r;
}

}  // namespace ironflow::api
