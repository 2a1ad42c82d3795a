// Pull mode: a worker that runs the "payout" function, which declares STRIPE_KEY. It long-polls the Ironflow
// server over HTTP; the server resolves STRIPE_KEY for the run's environment and delivers it with the job.
// Prints only non-secret facts (e.g. the key's length). Ctrl-C stops it after in-flight runs finish.
#include <ironflow/sdk.h>

#include <cstdio>
#include <exception>

#include "example_env.h"

int main() {
  auto payout = ironflow::createFunction(
      {.id = "payout", .triggers = {{.event = "payout.requested"}}, .secrets = {"STRIPE_KEY"}},
      [](ironflow::Context& ctx) -> nlohmann::json {
        std::string_view key = ctx.secrets.get("STRIPE_KEY");  // injected at runtime; never print it
        std::printf("run %s attempt %d: %s %s, STRIPE_KEY has %zu bytes\n", ctx.run_id.c_str(), ctx.attempt,
                    ctx.event.name.c_str(), ctx.event.data.dump().c_str(), key.size());
        auto charge = ctx.step.run("charge", [&] {
          // A real app would call Stripe with `key` here; the step's output is stored, so a retry skips it.
          return nlohmann::json{{"charged", true}, {"amount", ctx.event.data.value("amount", 0)}};
        });
        return {{"charge", charge}, {"key_length", key.size()}};
      });

  try {
    ironflow::Worker worker({.server_url = example::ServerUrl(),
                             .api_key = example::ApiKey(),
                             .environment = example::Environment(),
                             .concurrency = 8,
                             .ca_file = example::CaFile()});
    worker.add(payout);
    ironflow::ShutdownSignals signals([&] { worker.stop(); });
    std::printf("payout worker %s: environment %s, server %s (Ctrl-C to stop)\n", worker.id().c_str(),
                example::Environment().c_str(), example::ServerUrl().c_str());
    worker.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
