// Config and KV from inside a function: a pull-mode worker whose "count_payout" function reads the payout limit
// from the `payouts` config document and counts payouts in the `counters` KV bucket, both in the run's
// environment. Set them up first:
//   ironflow config set payouts '{"daily_limit": 100}'
//   ironflow kv bucket create counters
#include <ironflow/sdk.h>

#include <cstdio>
#include <exception>

#include "example_env.h"

int main() {
  auto count_payout = ironflow::createFunction(
      {.id = "count_payout", .triggers = {{.event = "payout.requested"}}},
      [](ironflow::Context& ctx) -> nlohmann::json {
        nlohmann::json payouts = ctx.config.get("payouts");  // ApiError 404 if the document is missing
        const std::int64_t limit = payouts.value("daily_limit", std::int64_t{0});
        const std::int64_t count =
            ctx.kv("counters").incr("payouts." + ctx.event.data.value("day", std::string("today")));
        std::printf("run %s (%s): payout %lld of %lld allowed\n", ctx.run_id.c_str(), ctx.environment.c_str(),
                    static_cast<long long>(count), static_cast<long long>(limit));
        if (count > limit) throw ironflow::NonRetryableError("daily payout limit reached");
        return {{"count", count}, {"limit", limit}, {"environment", ctx.environment}};
      });

  try {
    ironflow::Worker worker({.server_url = example::ServerUrl(),
                             .api_key = example::ApiKey(),
                             .environment = example::Environment(),
                             .concurrency = 4,
                             .ca_file = example::CaFile()});
    worker.add(count_payout);
    ironflow::ShutdownSignals signals([&] { worker.stop(); });
    std::printf("count_payout worker %s: environment %s, server %s (Ctrl-C to stop)\n", worker.id().c_str(),
                example::Environment().c_str(), example::ServerUrl().c_str());
    std::fflush(stdout);
    worker.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
