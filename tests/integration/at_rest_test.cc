// No plaintext at rest: go around the API and look at what NATS holds (raw KV entry, every store file).
#include <gtest/gtest.h>

#include "secrets/secret_store.h"
#include "store/kv_bucket.h"
#include "support/nats_fixture.h"
#include "support/server_process.h"

namespace ironflow::server::testing {
namespace {

// Sets one random value through the API, then returns (raw KV entry, whether any store file holds the value).
struct AtRestScan {
  std::string raw_entry;
  bool found_in_files = false;
  std::string found_file;
  std::string value;
};

AtRestScan SetValueAndScan(const std::string& master_key) {
  AtRestScan scan;
  NatsFixture nats;
  TempDir data;
  ServerProcess server({nats.url(), data.path() + "/data", master_key});
  std::string error;
  EXPECT_TRUE(server.Start(&error)) << error;
  scan.value = "at-rest-" + RandomHex(24);
  ApiClient api(server.url(), server.api_key());
  auto r = api.Call("POST", "/api/v1/secrets", nlohmann::json{{"name", "DB_PASSWORD"}, {"value", scan.value}});
  EXPECT_EQ(r.status, 201) << r.raw;
  // Rotate once so the history holds two revisions.
  r = api.Call("PUT", "/api/v1/secrets/DB_PASSWORD", nlohmann::json{{"value", scan.value + "-2"}});
  EXPECT_EQ(r.status, 200) << r.raw;
  server.Stop();

  auto nc = nats.Connect();
  auto bucket = KvBucket::OpenOrCreate(*nc, {kSecretsBucket, "", 10, 1, -1});
  auto entry = (*bucket)->Get("default.DB_PASSWORD");
  EXPECT_TRUE(entry.ok() && entry->has_value());
  if (entry.ok() && entry->has_value()) scan.raw_entry = (*entry)->value;
  bucket->reset();
  nc.reset();
  nats.Stop();  // flush and close the store before scanning its files
  scan.found_in_files = AnyFileContains(nats.store_dir(), scan.value, &scan.found_file);
  return scan;
}

TEST(AtRestTest, WithMasterKeyNoStoreFileOrKvEntryContainsTheValue) {
  AtRestScan scan = SetValueAndScan(NewMasterKey());
  ASSERT_FALSE(scan.raw_entry.empty());
  EXPECT_EQ(scan.raw_entry.find(scan.value), std::string::npos) << "plaintext in the raw KV entry";
  EXPECT_NE(scan.raw_entry.find("AES-256-GCM"), std::string::npos);
  EXPECT_FALSE(scan.found_in_files) << "plaintext found at rest in " << scan.found_file;
}

// The control: the same scan does find the value when it is stored in plaintext, so the test above can fail.
TEST(AtRestTest, DevModeScanFindsThePlaintextControl) {
  AtRestScan scan = SetValueAndScan("");
  EXPECT_NE(scan.raw_entry.find(scan.value), std::string::npos);
  EXPECT_TRUE(scan.found_in_files) << "the scan could not see plaintext even in dev mode";
}

}  // namespace
}  // namespace ironflow::server::testing
