// ApiTest: a GoogleTest fixture with a real nats-server, a real `ironflow serve` (with a master key) on it, and
// an authenticated ApiClient for environment "default". Every secret value a test registers with Remember()
// is checked at TearDown to be absent from the server's log and the nats-server log.
#pragma once

#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "support/nats_fixture.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace ironflow::server::testing {

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(nats_.running());
    master_key_ = NewMasterKey();
    server_ = std::make_unique<ServerProcess>(ServerProcess::Options{nats_.url(), data_.path() + "/data", master_key_});
    std::string error;
    ASSERT_TRUE(server_->Start(&error)) << error;
    api_ = std::make_unique<ApiClient>(server_->url(), server_->api_key());
  }

  void TearDown() override {
    const bool died = server_ && server_->Exited();  // ended on its own, before the test was done with it
    if (server_) server_->Stop();
    std::string logs = server_ ? server_->log() : "";
    std::string nats_log = ReadFile(nats_.log_file());
    bool clean = true;
    for (const auto& v : remembered_) {
      EXPECT_EQ(logs.find(v), std::string::npos) << "a secret value appeared in the server log";
      EXPECT_EQ(nats_log.find(v), std::string::npos) << "a secret value appeared in the nats-server log";
      clean = clean && logs.find(v) == std::string::npos;
    }
    // What the server said, when a check failed or it died (only a log without the test's secret values).
    const std::string tail = clean ? LastLines(logs, 60) : "(not shown: it holds a secret value)";
    EXPECT_FALSE(died) << "ironflow serve ended during the test (" << server_->how_it_ended() << "); its log:\n"
                       << tail;
    if (HasFailure() && !died) std::cerr << "ironflow serve log (last lines):\n" << tail << std::endl;
  }

  static std::string LastLines(const std::string& text, size_t n) {
    size_t at = text.size();
    for (size_t seen = 0; at > 0 && seen <= n;) {
      if (text[--at] == '\n') ++seen;
    }
    return text.substr(at);
  }

  // A fresh random value, remembered for the log check.
  std::string NewValue() {
    std::string v = "val-" + RandomHex(16);
    remembered_.push_back(v);
    return v;
  }

  // A client for another environment (or API key).
  std::unique_ptr<ApiClient> ClientFor(const std::string& env, const std::string& key = "") {
    return std::make_unique<ApiClient>(server_->url(), key.empty() ? server_->api_key() : key, env);
  }

  NatsFixture nats_;
  TempDir data_;
  std::string master_key_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<ApiClient> api_;
  std::vector<std::string> remembered_;
};

}  // namespace ironflow::server::testing
