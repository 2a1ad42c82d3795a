// ApiTest: a GoogleTest fixture with a real nats-server, a real `ironflow serve` (with a master key) on it, and
// an authenticated ApiClient for environment "default". Every secret value a test registers with Remember()
// is checked at TearDown to be absent from the server's log and the nats-server log.
#pragma once

#include <gtest/gtest.h>

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
    if (server_) server_->Stop();
    std::string logs = server_ ? server_->log() : "";
    std::string nats_log = ReadFile(nats_.log_file());
    for (const auto& v : remembered_) {
      EXPECT_EQ(logs.find(v), std::string::npos) << "a secret value appeared in the server log";
      EXPECT_EQ(nats_log.find(v), std::string::npos) << "a secret value appeared in the nats-server log";
    }
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
