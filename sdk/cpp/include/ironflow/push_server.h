// Push mode: a PushServer is a small HTTP server the Ironflow engine POSTs jobs to. Every request must carry a
// valid `X-Ironflow-Signature` (HMAC-SHA256 with the environment's signing key, timestamp within 300 s);
// anything else gets 401 and runs nothing. An unknown function_id gets 404. Otherwise the function runs and the
// answer is 200 {status, output?, error?, steps}.
//
//   ironflow::PushServer push({.host = "127.0.0.1", .port = 8080, .signing_key_hex = key, .path = "/api/ironflow"});
//   push.add(payout);
//   push.run();  // blocks until stop()
//
// The PushServer does not register its functions: use ironflow::Client::registerFunction(fn, "push", url).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "ironflow/function.h"

namespace ironflow {

// Designated initializers must follow declaration order.
struct PushServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                     // 0: any free port (see port())
  std::string signing_key_hex;         // 64 hex characters (`ironflow signing-key show`)
  std::string path = "/api/ironflow";  // the only path served
  int threads = 8;                     // requests (function runs) handled at once
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  // Optional: where ctx.config and ctx.kv() reach the server (without them, those calls throw ironflow::Error).
  std::string server_url;
  std::string api_key;
  std::string ca_file;  // PEM CA trusted for an https:// server_url (empty: the system trust store)
  // Serve the push endpoint over HTTPS (both or neither): PEM certificate chain and private key.
  std::string tls_cert_file;
  std::string tls_key_file;
};

class PushServer {
 public:
  // Throws std::invalid_argument for invalid options; the message never echoes the signing key.
  explicit PushServer(PushServerOptions options);
  ~PushServer();  // stops serving
  PushServer(const PushServer&) = delete;
  PushServer& operator=(const PushServer&) = delete;

  // Adds a function before start()/run(). Throws std::invalid_argument for a duplicate id.
  void add(const Function& function);

  // Binds and starts serving in background threads; returns at once. Throws ironflow::Error if the address
  // cannot be used.
  void start();
  // The bound port (after start()).
  int port() const;
  // start() (unless already started), then blocks until stop(); then stops serving (in-flight requests get up
  // to 5 s) and returns. If stop() came before run(), run() returns at once (stopping a server start() began).
  void run();
  // Makes run() return. Returns at once; thread-safe and async-signal-safe (an atomic store and a write(2)), so
  // it may be called from a signal handler; ironflow::ShutdownSignals does that for SIGINT/SIGTERM. A server
  // started with start() alone stops serving when run() returns or when the PushServer is destroyed.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ironflow
