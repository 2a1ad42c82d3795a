// Push mode: the same "payout" function served over HTTP. The app registers the function in push mode with its
// URL, then the Ironflow engine POSTs each job there, signed with the signing key (IRONFLOW_SIGNING_KEY, from
// `ironflow signing-key show`). Unsigned, wrongly signed or stale requests get 401 and run nothing.
//   payout_push [port]   (default 8080; listens on 127.0.0.1)
// With IRONFLOW_PUSH_TLS_CERT and IRONFLOW_PUSH_TLS_KEY (PEM files) it serves HTTPS and registers an https:// URL
// (start the server with --push-ca-file if the certificate is not from a public CA).
#include <ironflow/sdk.h>

#include <cstdio>
#include <exception>
#include <string>

#include "example_env.h"

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::stoi(argv[1]) : 8080;
  const std::string path = "/api/ironflow";
  const std::string tls_cert = example::Env("IRONFLOW_PUSH_TLS_CERT");
  const std::string tls_key = example::Env("IRONFLOW_PUSH_TLS_KEY");
  const std::string url =
      (tls_cert.empty() ? "http://" : "https://") + std::string("127.0.0.1:") + std::to_string(port) + path;
  const std::string signing_key = example::Env("IRONFLOW_SIGNING_KEY");
  if (signing_key.empty()) {
    std::fprintf(stderr, "error: set IRONFLOW_SIGNING_KEY (see `ironflow signing-key show`)\n");
    return 1;
  }

  auto payout = ironflow::createFunction(
      {.id = "payout", .triggers = {{.event = "payout.requested"}}, .secrets = {"STRIPE_KEY"}},
      [](ironflow::Context& ctx) -> nlohmann::json {
        std::string_view key = ctx.secrets.get("STRIPE_KEY");
        std::printf("run %s attempt %d (push): %s, STRIPE_KEY has %zu bytes\n", ctx.run_id.c_str(), ctx.attempt,
                    ctx.event.data.dump().c_str(), key.size());
        auto charge = ctx.step.run("charge", [&] {
          return nlohmann::json{{"charged", true}, {"amount", ctx.event.data.value("amount", 0)}};
        });
        return {{"charge", charge}, {"key_length", key.size()}};
      });

  try {
    ironflow::PushServer push({.host = "127.0.0.1",
                               .port = port,
                               .signing_key_hex = signing_key,
                               .path = path,
                               .tls_cert_file = tls_cert,
                               .tls_key_file = tls_key});
    push.add(payout);
    ironflow::ShutdownSignals signals([&] { push.stop(); });
    push.start();  // listen first, so the engine can deliver as soon as the function is registered

    ironflow::Client client({.server_url = example::ServerUrl(),
                             .api_key = example::ApiKey(),
                             .environment = example::Environment(),
                             .ca_file = example::CaFile()});
    client.registerFunction(payout, "push", url);
    std::printf("payout registered in push mode at %s (environment %s); Ctrl-C to stop\n", url.c_str(),
                example::Environment().c_str());
    push.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
