// `ironflow backup` / `ironflow restore` against real nats-servers: a store backed up online and restored into
// another NATS serves the same secrets (to runs only), metadata, history, API keys, config, KV and functions; the
// file never holds a plaintext value; and a restore that cannot be trusted or would overwrite data writes nothing.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>

#include "backup/backup.h"
#include "common/hex.h"
#include "store/kv_admin.h"
#include "store/stream_admin.h"
#include "support/nats_fixture.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

Env KeyEnv(const std::string& key) { return {{"IRONFLOW_MASTER_KEY", key}}; }

ProcessResult Backup(const NatsFixture& nats, const std::string& key, const std::string& file,
                     std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"backup", "-o", file, "--nats-url", nats.url()};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunIronflow(args, KeyEnv(key));
}

ProcessResult Restore(const NatsFixture& nats, const std::string& key, const std::string& file,
                      std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"restore", file, "--nats-url", nats.url()};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunIronflow(args, KeyEnv(key));
}

// Every bucket and stream a NATS holds (a restore that was refused must leave this empty).
std::vector<std::string> BucketsIn(NatsFixture& nats) {
  auto nc = nats.Connect();
  auto buckets = ListKvBuckets(*nc, "");
  EXPECT_TRUE(buckets.ok()) << buckets.status().message();
  std::vector<std::string> out = buckets.ok() ? *buckets : std::vector<std::string>{};
  if (GetStreamState(*nc, "IRONFLOW_SYSTEM").ok()) out.push_back("IRONFLOW_SYSTEM");
  return out;
}

// Every value the backup file holds, base64 ones decoded (to look for plaintext in them too).
std::string DecodedValues(const std::string& file) {
  std::istringstream lines(ReadFile(file));
  std::string line, out;
  while (std::getline(lines, line)) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("value_b64")) continue;
    auto bytes = Base64Decode(j["value_b64"].get<std::string>());
    if (bytes) out.append(bytes->begin(), bytes->end());
  }
  return out;
}

// The buckets and streams a backup file has sections for.
std::set<std::string> Sections(const std::string& file) {
  std::istringstream lines(ReadFile(file));
  std::set<std::string> out;
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    if (j.contains("kv") && j["kv"].is_string()) out.insert(j["kv"].get<std::string>());
    if (j.contains("stream") && j["stream"].is_string()) out.insert(j["stream"].get<std::string>());
  }
  return out;
}

// Takes the one job a pull worker has waiting and completes it; the secrets it carried.
json TakeJob(ApiClient& api, const std::string& worker) {
  auto jobs = api.Call("GET", "/api/v1/workers/" + worker + "/jobs?available=1&wait_ms=15000");
  if (jobs.status != 200 || !jobs.body.contains("jobs") || jobs.body["jobs"].empty()) return json{{"no_job", jobs.raw}};
  json job = jobs.body["jobs"][0];
  api.Call(
      "PUT", "/api/v1/workers/" + worker + "/jobs/" + job["job_id"].get<std::string>(),
      json{
          {"lease_token", job["lease_token"]}, {"status", "completed"}, {"output", nullptr}, {"steps", json::array()}});
  return job["context"]["secrets"];
}

void RegisterPullFunction(ApiClient& api, const std::string& id) {
  auto r = api.Call(
      "POST", "/api/v1/functions",
      json{{"id", id}, {"triggers", {{{"event", id + ".go"}}}}, {"secrets", {"STRIPE_KEY"}}, {"mode", "pull"}});
  ASSERT_LT(r.status, 300) << r.raw;
}

TEST(BackupTest, RestoredStoreServesTheSameSecretsKeysConfigKvAndRunsAndTheFileHoldsNoPlaintext) {
  TempDir work;
  const std::string key = NewMasterKey(), file = work.path() + "/store.backup";
  const std::string v1 = "v1-" + RandomHex(16), v2 = "v2-" + RandomHex(16), staging_value = "st-" + RandomHex(16),
                    gone = "gone-" + RandomHex(16);
  const std::string binary("\x00\x01\xff{kv}\n", 8);
  ServerProcess::Options opts{"", work.path() + "/data", key};
  std::string error, reader_key;
  uint64_t nonces_used = 0;

  NatsFixture before;
  opts.nats_url = before.url();
  {
    ServerProcess server(opts);
    ASSERT_TRUE(server.Start(&error)) << error;
    ApiClient api(server.url(), server.api_key());
    ASSERT_EQ(api.Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", v1}, {"description", "first"}}).status, 201);
    ASSERT_EQ(api.Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", v2}, {"description", "second"}}).status,
              200);
    ASSERT_EQ(api.Call("PUT", "/api/v1/secrets/GONE", json{{"value", gone}}).status, 201);
    ASSERT_EQ(api.Call("DELETE", "/api/v1/secrets/GONE").status, 204);
    ASSERT_EQ(api.Call("POST", "/api/v1/environments", json{{"name", "staging"}}).status, 201);
    ApiClient staging(server.url(), server.api_key(), "staging");
    ASSERT_EQ(staging.Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", staging_value}}).status, 201);
    ASSERT_EQ(api.Call("PUT", "/api/v1/config/site", json{{"data", {{"theme", "dark"}, {"limit", 7}}}}).status, 200);
    ASSERT_EQ(api.Call("POST", "/api/v1/kv/buckets", json{{"name", "sessions"}, {"description", "web"}, {"history", 3}})
                  .status,
              201);
    ASSERT_EQ(api.Call("PUT", "/api/v1/kv/buckets/sessions/keys/user.1", binary).status, 200);
    auto made =
        api.Call("POST", "/api/v1/apikeys", json{{"name", "ci"}, {"role", "reader"}, {"environment", "default"}});
    ASSERT_EQ(made.status, 201) << made.raw;
    reader_key = made.body["key"];
    RegisterPullFunction(api, "charge");
    ASSERT_EQ(api.Call("POST", "/api/v1/workers/w/register",
                       json{{"function_ids", {"charge"}}, {"max_concurrent_jobs", 1}, {"lease_ms", 30000}})
                  .status,
              200);
    // A run nobody has taken yet: with --include-runs it survives the move.
    ASSERT_LT(api.Call("POST", "/api/v1/events", json{{"name", "charge.go"}, {"data", json::object()}}).status, 300);
    nonces_used = api.Call("GET", "/api/v1/status").body["encryption"]["nonces"]["used"].get<uint64_t>();

    // Online: the server keeps running while the backup reads the store.
    ProcessResult b = Backup(before, key, file, {"--include-runs", "--include-audit"});
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_NE(b.out.find("backup written to " + file), std::string::npos) << b.out;
    for (const auto& v : {v1, v2, staging_value, gone}) {
      EXPECT_EQ(b.out.find(v) + b.err.find(v), 2 * std::string::npos) << "a value in the CLI's output";
    }
    server.Stop();
    for (const auto& v : {v1, v2, staging_value, gone}) EXPECT_EQ(server.log().find(v), std::string::npos);
  }
  // Every bucket the server made is in the backup, except the ones a restore rebuilds (a bucket added to the
  // server but not to the backup would fail here).
  const std::set<std::string> in_file = Sections(file);
  const std::vector<std::string> made = BucketsIn(before);
  EXPECT_GE(made.size(), 9u) << "the system buckets, the user bucket and the audit stream";
  for (const auto& bucket : made) {
    if (bucket == "ironflow-idempotency" || bucket == "IRONFLOW_SYSTEM") continue;  // never backed up / a stream
    EXPECT_TRUE(in_file.count(bucket)) << "bucket " << bucket << " is not in the backup";
  }
  EXPECT_TRUE(in_file.count("IRONFLOW_SYSTEM")) << "--include-audit";
  before.Stop();

  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the backup is readable only by its owner";
  EXPECT_NE(::stat((file + ".partial").c_str(), &st), 0) << "no partial file is left behind";
  const std::string content = ReadFile(file), decoded = DecodedValues(file);
  for (const auto& v : {v1, v2, staging_value, gone}) {
    EXPECT_EQ(content.find(v), std::string::npos) << "a plaintext value in the backup file";
    EXPECT_EQ(decoded.find(v), std::string::npos) << "a plaintext value in a base64 value of the backup file";
  }
  EXPECT_NE(content.find(R"("kv":"app_)"), std::string::npos) << "user KV buckets are included";

  NatsFixture after;
  ProcessResult r = Restore(after, key, file);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("restored"), std::string::npos) << r.out;
  opts.nats_url = after.url();
  ServerProcess server(opts);
  ASSERT_TRUE(server.Start(&error)) << error;
  ApiClient api(server.url(), server.api_key());  // the old bootstrap key still works: its hash was restored

  // The run made before the backup is queued again and carries the current value.
  ASSERT_EQ(api.Call("POST", "/api/v1/workers/w/register",
                     json{{"function_ids", {"charge"}}, {"max_concurrent_jobs", 1}, {"lease_ms", 30000}})
                .status,
            200);
  EXPECT_EQ(TakeJob(api, "w"), json({{"STRIPE_KEY", v2}}));

  auto meta = api.Call("GET", "/api/v1/secrets/STRIPE_KEY");
  ASSERT_EQ(meta.status, 200) << meta.raw;
  EXPECT_EQ(meta.body["description"], "second");
  auto versions = api.Call("GET", "/api/v1/secrets/STRIPE_KEY/versions");
  ASSERT_EQ(versions.status, 200) << versions.raw;
  ASSERT_EQ(versions.body["versions"].size(), 2u) << versions.raw;
  EXPECT_EQ(versions.body["versions"][0]["description"], "second");
  EXPECT_EQ(versions.body["versions"][1]["description"], "first");
  EXPECT_EQ(versions.body["versions"][0]["revision"], meta.body["revision"]);
  // The older revision's sealed bytes came along too: rolling back to it delivers v1.
  auto rollback = api.Call("POST", "/api/v1/secrets/STRIPE_KEY/rollback",
                           json{{"revision", versions.body["versions"][1]["revision"]}});
  ASSERT_EQ(rollback.status, 200) << rollback.raw;
  ASSERT_LT(api.Call("POST", "/api/v1/events", json{{"name", "charge.go"}, {"data", json::object()}}).status, 300);
  EXPECT_EQ(TakeJob(api, "w"), json({{"STRIPE_KEY", v1}}));

  EXPECT_EQ(api.Call("GET", "/api/v1/secrets/GONE").status, 404) << "a deleted secret stays deleted";
  auto gone_versions = api.Call("GET", "/api/v1/secrets/GONE/versions");
  ASSERT_EQ(gone_versions.status, 200) << gone_versions.raw;
  EXPECT_TRUE(gone_versions.body["versions"][0]["deleted"].get<bool>()) << gone_versions.raw;

  ApiClient staging(server.url(), server.api_key(), "staging");
  EXPECT_EQ(staging.Call("GET", "/api/v1/secrets/STRIPE_KEY").status, 200) << "environments are restored apart";
  ApiClient reader(server.url(), reader_key);
  EXPECT_EQ(reader.Call("GET", "/api/v1/secrets").status, 200) << "a key issued before the backup still works";
  EXPECT_EQ(reader.Call("PUT", "/api/v1/secrets/X", json{{"value", "x"}}).status, 403) << "with its role";

  EXPECT_EQ(api.Call("GET", "/api/v1/config/site").body["data"], json({{"theme", "dark"}, {"limit", 7}}));
  auto bucket = api.Call("GET", "/api/v1/kv/buckets/sessions");
  EXPECT_EQ(bucket.body["description"], "web") << bucket.raw;
  EXPECT_EQ(bucket.body["history"], 3) << bucket.raw;
  EXPECT_EQ(api.Call("GET", "/api/v1/kv/buckets/sessions/keys/user.1").body["value"], Base64Encode(binary));

  // Encryptions made after the backup (by servers still running on the old store) stay counted.
  const uint64_t used_now = api.Call("GET", "/api/v1/status").body["encryption"]["nonces"]["used"].get<uint64_t>();
  EXPECT_GE(used_now, nonces_used + kNonceMargin);
  server.Stop();
  for (const auto& v : {v1, v2, staging_value, gone}) {
    EXPECT_EQ(server.log().find(v), std::string::npos);
    EXPECT_EQ(r.out.find(v) + r.err.find(v), 2 * std::string::npos);
  }
}

TEST(BackupTest, UntrustedOrOverwritingRestoresAreRefusedAndWriteNothing) {
  TempDir work;
  const std::string key = NewMasterKey(), file = work.path() + "/b.backup";
  NatsFixture source;
  {
    ServerProcess server(ServerProcess::Options{source.url(), work.path() + "/data", key});
    std::string error;
    ASSERT_TRUE(server.Start(&error)) << error;
    ApiClient api(server.url(), server.api_key());
    ASSERT_EQ(api.Call("PUT", "/api/v1/secrets/A", json{{"value", "a-" + RandomHex(8)}}).status, 201);
    server.Stop();
  }
  ProcessResult b = Backup(source, key, file);
  ASSERT_EQ(b.exit_code, 0) << b.err;

  NatsFixture target;
  // Another master key: refused on the key id, before the MAC.
  ProcessResult wrong = Restore(target, NewMasterKey(), file);
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("made under master key"), std::string::npos) << wrong.err;
  // No master key at all.
  ProcessResult none = RunIronflow({"restore", file, "--nats-url", target.url()});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("needs the master key"), std::string::npos) << none.err;
  // One byte changed in the body.
  std::string content = ReadFile(file);
  std::string tampered = content;
  const size_t at = tampered.find(R"("kv":"ironflow-secrets")");
  ASSERT_NE(at, std::string::npos);
  tampered[at + 6] = 'X';
  const std::string tampered_file = work.path() + "/tampered.backup";
  std::ofstream(tampered_file, std::ios::binary) << tampered;
  ProcessResult edited = Restore(target, key, tampered_file);
  EXPECT_EQ(edited.exit_code, 1);
  EXPECT_NE(edited.err.find("MAC does not verify"), std::string::npos) << edited.err;
  // Cut short.
  const std::string truncated_file = work.path() + "/truncated.backup";
  std::ofstream(truncated_file, std::ios::binary) << content.substr(0, content.size() / 2);
  EXPECT_EQ(Restore(target, key, truncated_file).exit_code, 1);
  EXPECT_TRUE(BucketsIn(target).empty()) << "a refused restore wrote nothing";

  // Into a NATS that already holds a store: refused, then replaced with --force.
  ASSERT_EQ(Restore(target, key, file).exit_code, 0);
  ProcessResult again = Restore(target, key, file);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already holds"), std::string::npos) << again.err;
  ProcessResult forced = Restore(target, key, file, {"--force", "-y"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  auto nc = target.Connect();
  auto secrets = GetKvBucketInfo(*nc, "ironflow-secrets");
  ASSERT_TRUE(secrets.ok());
  EXPECT_EQ(secrets->values, 1u) << "--force replaced the bucket instead of adding to it";
}

TEST(BackupTest, ADevModeStoreCannotBeBackedUp) {
  TempDir work;
  NatsFixture nats;
  {
    ServerProcess server(ServerProcess::Options{nats.url(), work.path() + "/data", ""});
    std::string error;
    ASSERT_TRUE(server.Start(&error)) << error;
    server.Stop();
  }
  ProcessResult b = Backup(nats, NewMasterKey(), work.path() + "/dev.backup");
  EXPECT_EQ(b.exit_code, 1);
  EXPECT_NE(b.err.find("dev-mode store cannot be backed up"), std::string::npos) << b.err;
  struct stat st {};
  EXPECT_NE(::stat((work.path() + "/dev.backup").c_str(), &st), 0) << "no file is left behind";
  EXPECT_NE(::stat((work.path() + "/dev.backup.partial").c_str(), &st), 0);
}

}  // namespace
}  // namespace ironflow::server::testing
