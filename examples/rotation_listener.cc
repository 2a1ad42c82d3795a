// A pull worker whose function reacts to secret rotations: it triggers on `system.secret.*.updated`, which the
// server emits (for this environment only) whenever a secret is set. The event data is metadata (name,
// revision, timestamps), never the value, so logging it is safe. A real app would drop a cache or reconnect.
#include <ironflow/sdk.h>

#include <cstdio>
#include <exception>

#include "example_env.h"

int main() {
  auto on_rotation =
      ironflow::createFunction({.id = "rotation-listener", .triggers = {{.event = "system.secret.*.updated"}}},
                               [](ironflow::Context& ctx) -> nlohmann::json {
                                 std::printf("%s: %s\n", ctx.event.name.c_str(), ctx.event.data.dump().c_str());
                                 std::fflush(stdout);
                                 return {{"seen", ctx.event.name}};
                               });

  try {
    ironflow::Worker worker({.server_url = example::ServerUrl(),
                             .api_key = example::ApiKey(),
                             .environment = example::Environment(),
                             .concurrency = 2,
                             .ca_file = example::CaFile()});
    worker.add(on_rotation);
    ironflow::ShutdownSignals signals([&] { worker.stop(); });
    std::printf("rotation listener %s: environment %s (Ctrl-C to stop)\n", worker.id().c_str(),
                example::Environment().c_str());
    worker.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
