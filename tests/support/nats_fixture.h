// NatsFixture: a real nats-server with JetStream on a free loopback port and a temp store dir, for one test.
// Stop() shuts the server down (flushing its store) so tests can scan the files it wrote.
#pragma once

#include <memory>
#include <string>

#include "store/embedded_nats.h"
#include "store/nats_connection.h"
#include "support/temp_dir.h"

namespace ironflow::server::testing {

class NatsFixture {
 public:
  NatsFixture();  // starts the server; fails the current test (ADD_FAILURE) if it cannot
  ~NatsFixture();

  std::string url() const { return nats_ ? nats_->url() : ""; }
  std::string store_dir() const { return dir_.path() + "/store"; }
  std::string log_file() const { return dir_.path() + "/nats.log"; }
  bool running() const { return nats_ != nullptr; }
  pid_t pid() const { return nats_ ? nats_->pid() : -1; }  // the nats-server process (memory readings)
  // A new client connection to this server.
  std::unique_ptr<NatsConnection> Connect();
  void Stop();

 private:
  TempDir dir_;
  std::unique_ptr<EmbeddedNats> nats_;
};

}  // namespace ironflow::server::testing
