// The CLI end to end against a real server: values go in through stdin/file/argument and never come out.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "support/api_fixture.h"
#include "support/child_process.h"

namespace ironflow::server::testing {
namespace {

class CliTest : public ApiTest {
 protected:
  ProcessResult Cli(std::vector<std::string> args, const std::string& stdin_data = "", Env extra = {}) {
    Env env = {{"IRONFLOW_SERVER_URL", server_->url()}, {"IRONFLOW_DATA_DIR", server_->options().data_dir}};
    for (const auto& [k, v] : extra) env[k] = v;
    ProcessResult r = RunIronflow(args, env, stdin_data);
    for (const auto& v : remembered_) {
      EXPECT_EQ(r.out.find(v), std::string::npos) << "a value appeared in CLI stdout";
      EXPECT_EQ(r.err.find(v), std::string::npos) << "a value appeared in CLI stderr";
    }
    return r;
  }
};

TEST_F(CliTest, SetFromStdinThenListAndGetShowMetadataOnly) {
  std::string value = NewValue();
  auto set = Cli({"secret", "set", "DB_PASSWORD", "-d", "primary db"}, value + "\n");
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("created secret DB_PASSWORD in environment default"), std::string::npos) << set.out;

  auto list = Cli({"secret", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("DB_PASSWORD"), std::string::npos);
  EXPECT_NE(list.out.find("primary db"), std::string::npos);

  auto get = Cli({"--json", "secret", "get", "DB_PASSWORD"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  auto j = nlohmann::json::parse(get.out);
  EXPECT_EQ(j["name"], "DB_PASSWORD");
  EXPECT_EQ(j["encrypted"], true);
  EXPECT_FALSE(j.contains("value"));
}

TEST_F(CliTest, StdinValueKeepsInnerNewlinesAndDropsOnlyTheTrailingOne) {
  // The trailing newline of `echo` is not part of the value; the server stores exactly the rest. We check the
  // length through a CAS round trip: the same value set twice still creates a new revision (values are opaque).
  auto set = Cli({"secret", "set", "MULTI"}, "line1\nline2\n");
  ASSERT_EQ(set.exit_code, 0) << set.err;
  auto empty = Cli({"secret", "set", "EMPTY"}, "\n");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("empty"), std::string::npos);
}

TEST_F(CliTest, SetFromFileAndArgumentAndCasWithIfRevision) {
  TempDir dir;
  std::string value = NewValue();
  std::string path = dir.path() + "/value.txt";
  {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_EQ(write(fd, value.data(), value.size()), static_cast<ssize_t>(value.size()));
    close(fd);
  }
  auto from_file = Cli({"--json", "secret", "set", "FROM_FILE", "--from-file", path});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  uint64_t rev = nlohmann::json::parse(from_file.out)["revision"];

  std::string v2 = NewValue();
  auto stale = Cli({"secret", "set", "FROM_FILE", v2, "--if-revision", std::to_string(rev + 1000)});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_NE(stale.err.find("precondition_failed"), std::string::npos) << stale.err;
  EXPECT_EQ(std::count(stale.err.begin(), stale.err.end(), '\n'), 1) << "errors must be one line";

  auto ok = Cli({"secret", "set", "FROM_FILE", v2, "--if-revision", std::to_string(rev)});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("updated secret FROM_FILE"), std::string::npos);
}

TEST_F(CliTest, ErrorsAreOneLineAndExitOne) {
  auto missing = Cli({"secret", "get", "NOPE"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err.rfind("error: ", 0), 0u) << missing.err;
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1);

  auto bad_name = Cli({"secret", "set", "bad.name", "x"});
  EXPECT_EQ(bad_name.exit_code, 1);
  auto unknown_env = Cli({"secret", "list", "--env", "ghost"});
  EXPECT_EQ(unknown_env.exit_code, 1);
  EXPECT_NE(unknown_env.err.find("ironflow env create ghost"), std::string::npos) << unknown_env.err;
  auto bad_key = Cli({"secret", "list"}, "", {{"IRONFLOW_API_KEY", "ifkey_ffffffffffffffffffffffffffffffff"}});
  EXPECT_EQ(bad_key.exit_code, 1);
  EXPECT_NE(bad_key.err.find("unauthenticated"), std::string::npos);
  auto no_server = Cli({"secret", "list"}, "", {{"IRONFLOW_SERVER_URL", "http://127.0.0.1:1"}});
  EXPECT_EQ(no_server.exit_code, 1);
  auto bad_flag = Cli({"secret", "list", "--no-such-flag"});
  EXPECT_EQ(bad_flag.exit_code, 1);
}

TEST_F(CliTest, EnvCommandsAndEnvFlagScopeSecrets) {
  ASSERT_EQ(Cli({"env", "create", "staging"}).exit_code, 0);
  auto list = Cli({"env", "list"});
  EXPECT_NE(list.out.find("staging"), std::string::npos);
  ASSERT_EQ(Cli({"secret", "set", "ONLY_STAGING", "-e", "staging"}, NewValue()).exit_code, 0);
  EXPECT_EQ(Cli({"secret", "get", "ONLY_STAGING"}).exit_code, 1);
  EXPECT_EQ(Cli({"secret", "get", "ONLY_STAGING"}, "", {{"IRONFLOW_ENV", "staging"}}).exit_code, 0);
  auto refused = Cli({"env", "delete", "staging", "-y"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(Cli({"env", "delete", "staging", "--force", "-y"}).exit_code, 0);
}

TEST_F(CliTest, DeleteWithYesRemovesTheSecret) {
  ASSERT_EQ(Cli({"secret", "set", "GONE"}, NewValue()).exit_code, 0);
  auto del = Cli({"secret", "delete", "GONE", "-y"});
  EXPECT_EQ(del.exit_code, 0) << del.err;
  EXPECT_EQ(Cli({"secret", "get", "GONE"}).exit_code, 1);
}

TEST_F(CliTest, SubscribePrintsOneJsonPerEventWithoutValues) {
  TempDir dir;
  std::string out = dir.path() + "/out", err = dir.path() + "/err";
  Env env = {{"IRONFLOW_SERVER_URL", server_->url()}, {"IRONFLOW_DATA_DIR", server_->options().data_dir}};
  auto subscriber = std::make_unique<ChildProcess>(
      IRONFLOW_BINARY, env, out,
      std::vector<std::string>{"subscribe", "system.secret.*.created", "system.secret.*.deleted"}, err);
  auto wait_for = [](const std::string& path, const std::string& text) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      if (ReadFile(path).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  ASSERT_TRUE(wait_for(err, "subscribed to")) << ReadFile(err);
  std::string value = NewValue();
  ASSERT_EQ(Cli({"secret", "set", "WATCHED"}, value).exit_code, 0);
  ASSERT_EQ(Cli({"secret", "set", "WATCHED"}, NewValue()).exit_code, 0);  // updated: filtered out
  ASSERT_EQ(Cli({"secret", "delete", "WATCHED", "-y"}).exit_code, 0);
  ASSERT_TRUE(wait_for(out, "system.secret.WATCHED.deleted")) << ReadFile(out);
  subscriber.reset();  // SIGTERM and wait

  std::string printed = ReadFile(out);
  std::vector<std::string> lines;
  size_t start = 0, nl;
  while ((nl = printed.find('\n', start)) != std::string::npos) {
    lines.push_back(printed.substr(start, nl - start));
    start = nl + 1;
  }
  ASSERT_EQ(lines.size(), 2u) << printed;
  EXPECT_EQ(nlohmann::json::parse(lines[0])["subject"], "system.secret.WATCHED.created");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["subject"], "system.secret.WATCHED.deleted");
  EXPECT_EQ(printed.find(value), std::string::npos);
}

TEST_F(CliTest, ConfigSetPatchGetListDeleteRoundTrip) {
  auto set = Cli({"config", "set", "flags", R"({"checkout_v2":true,"limit":5})"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("set config flags in environment default"), std::string::npos) << set.out;
  ASSERT_EQ(Cli({"config", "patch", "flags", R"({"limit":null,"beta":["a"]})"}).exit_code, 0);
  auto get = Cli({"config", "get", "flags"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(nlohmann::json::parse(get.out), nlohmann::json({{"checkout_v2", true}, {"beta", {"a"}}}));
  ASSERT_EQ(Cli({"config", "set", "from-stdin"}, R"({"x":1})").exit_code, 0);
  auto list = Cli({"--json", "config", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(nlohmann::json::parse(list.out)["configs"].size(), 2u);
  auto stale = Cli({"config", "set", "flags", "{}", "--if-revision", "1"});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_NE(stale.err.find("precondition_failed"), std::string::npos) << stale.err;
  auto not_object = Cli({"config", "set", "flags", "[1,2]"});
  EXPECT_EQ(not_object.exit_code, 1);
  EXPECT_EQ(std::count(not_object.err.begin(), not_object.err.end(), '\n'), 1) << not_object.err;
  ASSERT_EQ(Cli({"config", "delete", "flags", "-y"}).exit_code, 0);
  EXPECT_EQ(Cli({"config", "get", "flags"}).exit_code, 1);
  EXPECT_EQ(Cli({"config", "delete", "flags", "-y"}).exit_code, 0) << "deleting an absent document succeeds";
}

TEST_F(CliTest, KvBucketKeysAndCountersFromTheCommandLine) {
  ASSERT_EQ(Cli({"kv", "bucket", "create", "sessions", "--ttl", "3600", "--history", "2"}).exit_code, 0);
  auto info = Cli({"kv", "bucket", "get", "sessions"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_EQ(nlohmann::json::parse(info.out)["ttl_seconds"], 3600);
  ASSERT_EQ(Cli({"kv", "put", "sessions", "user.1"}, "line one\nline two").exit_code, 0);
  auto get = Cli({"kv", "get", "sessions", "user.1"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "line one\nline two") << "kv get prints the exact bytes";
  EXPECT_EQ(Cli({"kv", "incr", "sessions", "hits", "--by", "41"}).out, "41\n");
  EXPECT_EQ(Cli({"kv", "incr", "sessions", "hits"}).out, "42\n");
  auto keys = Cli({"kv", "keys", "sessions", "--filter", "user.*"});
  EXPECT_EQ(keys.out, "user.1\n");
  auto taken = Cli({"kv", "put", "sessions", "user.1", "again", "--create-only"});
  EXPECT_EQ(taken.exit_code, 1);
  ASSERT_EQ(Cli({"kv", "delete", "sessions", "user.1"}).exit_code, 0);
  EXPECT_EQ(Cli({"kv", "get", "sessions", "user.1"}).exit_code, 1);
  auto bad_key = Cli({"kv", "put", "sessions", "a..b", "v"});
  EXPECT_EQ(bad_key.exit_code, 1);
  EXPECT_NE(bad_key.err.find("invalid key"), std::string::npos) << bad_key.err;
  ASSERT_EQ(Cli({"kv", "bucket", "delete", "sessions", "-y"}).exit_code, 0);
  auto gone = Cli({"kv", "get", "sessions", "hits"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("not_found"), std::string::npos) << gone.err;
}

TEST_F(CliTest, ApiKeyCreateListRotateDeleteWithRoles) {
  auto created = Cli({"--json", "apikey", "create", "ci-reader", "--role", "reader", "-e", "default"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto doc = nlohmann::json::parse(created.out);
  const std::string key = doc["key"], id = doc["id"];
  remembered_.push_back(key);  // from here on, no output may show it again
  auto as_reader =
      RunIronflow({"secret", "list"}, {{"IRONFLOW_SERVER_URL", server_->url()}, {"IRONFLOW_API_KEY", key}});
  EXPECT_EQ(as_reader.exit_code, 0) << as_reader.err;
  auto denied = RunIronflow({"secret", "set", "X", "value-x"},
                            {{"IRONFLOW_SERVER_URL", server_->url()}, {"IRONFLOW_API_KEY", key}});
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("permission_denied"), std::string::npos) << denied.err;
  auto list = Cli({"apikey", "list"});
  EXPECT_NE(list.out.find(id), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("reader"), std::string::npos);
  ASSERT_EQ(Cli({"apikey", "delete", id}).exit_code, 0);
  auto gone = RunIronflow({"secret", "list"}, {{"IRONFLOW_SERVER_URL", server_->url()}, {"IRONFLOW_API_KEY", key}});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("unauthenticated"), std::string::npos) << gone.err;
}

TEST_F(CliTest, ImportSetsManySecretsFromADotenvFileReportingNamesOnly) {
  TempDir dir;
  std::string a = NewValue(), b = NewValue(), c = NewValue(), d = NewValue();
  const std::string file = dir.path() + "/app.env";
  {
    std::ofstream out(file);
    out << "# app settings\nexport STRIPE_KEY=" << a << "\nDB_URL=\"" << b << "\nsecond line\"\nEMPTY=\n"
        << "bad.name=" << c << "\n";
  }
  ASSERT_EQ(Cli({"secret", "set", "STRIPE_KEY"}, d).exit_code, 0);
  auto first = Cli({"secret", "import", file});
  EXPECT_EQ(first.exit_code, 1) << "an invalid name makes the import exit 1 after doing the rest";
  EXPECT_NE(first.out.find("created DB_URL"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("skipped STRIPE_KEY: exists"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("skipped EMPTY: empty value"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("skipped bad.name: invalid name (line 6)"), std::string::npos) << first.out;
  auto second = Cli({"secret", "import", file, "--overwrite"});
  EXPECT_NE(second.out.find("updated STRIPE_KEY"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("updated DB_URL"), std::string::npos) << second.out;
  // The values went in as written (checked through the runtime: the only way values come out).
  auto db = api_->Call("GET", "/api/v1/secrets/DB_URL");
  EXPECT_EQ(db.status, 200);
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/EMPTY").status, 404);
}

TEST_F(CliTest, VersionPrintsTheVersion) {
  auto v = RunIronflow({"version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out, std::string("ironflow ") + IRONFLOW_VERSION + "\n");
}

}  // namespace
}  // namespace ironflow::server::testing

namespace ironflow::server::testing {
namespace {

class CreateAdminTest : public ApiTest {
 protected:
  // `ironflow apikey create-admin` talks to NATS, not to the server: no server URL, no API key.
  ProcessResult CreateAdmin(const std::string& name, const std::string& master_key, const std::string& nats_url) {
    return RunIronflow({"apikey", "create-admin", name, "--nats-url", nats_url}, {{"IRONFLOW_MASTER_KEY", master_key}});
  }
};

TEST_F(CreateAdminTest, MasterKeyHolderMintsAWorkingAuditedAdminKeyWithoutAnyApiKey) {
  auto r = CreateAdmin("ops-recovery", master_key_, nats_.url());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto at = r.out.find("ifkey_");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string key = r.out.substr(at, r.out.find('\n', at) - at);
  EXPECT_EQ(r.err.find(master_key_), std::string::npos);
  EXPECT_EQ(r.out.find(master_key_), std::string::npos);

  ApiClient as_new(server_->url(), key);
  auto keys = as_new.Call("GET", "/api/v1/apikeys");
  ASSERT_EQ(keys.status, 200) << "the minted key is not an admin key: " << keys.raw;
  bool listed = false;
  for (const auto& k : keys.body["apikeys"]) listed |= k["name"] == "ops-recovery" && k["role"] == "admin";
  EXPECT_TRUE(listed) << keys.raw;
  // Audited like any key creation, by an operator actor; the command waits for the event's ack before exiting.
  auto audit = ClientFor("*")->Call("GET", "/api/v1/audit?kind=apikey");  // key events belong to no environment
  bool audited = false;
  for (const auto& e : audit.body["entries"]) {
    const std::string subject = e.value("subject", "");
    audited |= subject.size() > 8 && subject.compare(subject.size() - 8, 8, ".created") == 0 &&
               e["event"]["actor"].value("type", "") == "operator";
  }
  EXPECT_TRUE(audited) << audit.raw;
}

TEST_F(CreateAdminTest, WrongMasterKeyOrAStoreWithoutIronflowCreatesNothing) {
  const size_t before = api_->Call("GET", "/api/v1/apikeys").body["apikeys"].size();
  auto wrong = CreateAdmin("intruder", NewMasterKey(), nats_.url());
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("key"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.out.find("ifkey_"), std::string::npos);
  auto none = RunIronflow({"apikey", "create-admin", "intruder", "--nats-url", nats_.url()});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("master key"), std::string::npos) << none.err;
  NatsFixture empty;
  auto elsewhere = CreateAdmin("intruder", master_key_, empty.url());
  EXPECT_EQ(elsewhere.exit_code, 1);
  EXPECT_NE(elsewhere.err.find("no Ironflow store"), std::string::npos) << elsewhere.err;
  EXPECT_EQ(api_->Call("GET", "/api/v1/apikeys").body["apikeys"].size(), before);
}

}  // namespace
}  // namespace ironflow::server::testing
