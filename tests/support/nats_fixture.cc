#include "support/nats_fixture.h"

#include <gtest/gtest.h>

namespace ironflow::server::testing {

NatsFixture::NatsFixture() {
  EmbeddedNats::Options o;
  o.store_dir = store_dir();
  o.log_file = log_file();
  o.supervise = false;
  auto started = EmbeddedNats::Start(o);
  if (!started.ok()) {
    ADD_FAILURE() << "cannot start nats-server: " << started.status().message();
    return;
  }
  nats_ = std::move(started).value();
}

NatsFixture::~NatsFixture() { Stop(); }

std::unique_ptr<NatsConnection> NatsFixture::Connect() {
  auto c = NatsConnection::Connect({.url = url(), .name = "ironflow-test"});
  if (!c.ok()) {
    ADD_FAILURE() << "cannot connect to test nats-server: " << c.status().message();
    return nullptr;
  }
  return std::move(c).value();
}

void NatsFixture::Stop() {
  if (nats_) nats_->Stop();
  nats_.reset();
}

}  // namespace ironflow::server::testing
