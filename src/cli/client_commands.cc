// Client commands: `secret`, `env`, `subscribe`, `emit`, `function`, `run`, `signing-key`, `audit`, `version` (and, via
// store_commands.cc, `config` and `kv`). Each talks to the HTTP API.
#include <fmt/core.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/cli.h"
#include "cli/cli_support.h"
#include "cli/dotenv.h"
#include "common/bounded_json.h"
#include "common/names.h"
#include "crypto/secure_bytes.h"
#include "http/http_client.h"

namespace ironflow::server::cli {
namespace {

using nlohmann::json;

void PrintMetadata(const json& m) {
  fmt::print("name:        {}\n", m.value("name", ""));
  fmt::print("environment: {}\n", m.value("environment", ""));
  fmt::print("description: {}\n", m.value("description", ""));
  fmt::print("revision:    {}\n", m.value("revision", 0ULL));
  fmt::print("created_at:  {}\n", m.value("created_at", ""));
  fmt::print("updated_at:  {}\n", m.value("updated_at", ""));
  fmt::print("encrypted:   {}\n", m.value("encrypted", false) ? "yes" : "no");
  if (m.contains("key_id") && m["key_id"].is_string()) fmt::print("key_id:      {}\n", m["key_id"].get<std::string>());
}

void AddSecretCommands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  CLI::App* secret = app.add_subcommand("secret", "Manage secrets (values go in, never come out)");
  secret->require_subcommand(1);

  struct SetOpts {
    std::string name, value, env = DefaultEnv(), description, from_file, if_revision;
    bool has_description = false;
  };
  auto so = std::make_shared<SetOpts>();
  CLI::App* set =
      secret->add_subcommand("set", "Create or rotate a secret (value from argument, --from-file, or stdin)");
  set->add_option("NAME", so->name, "Secret name")->required();
  set->add_option("VALUE", so->value, "Value (prefer stdin or --from-file: arguments land in shell history)");
  set->add_option("-e,--env", so->env, "Environment (IRONFLOW_ENV, else default)");
  auto* desc_opt = set->add_option("-d,--description", so->description, "Description");
  set->add_option("--from-file", so->from_file, "Read the value from this file (exact bytes)");
  set->add_option("--if-revision", so->if_revision, "Only update if the secret is at this revision");
  set->callback(Guard(exit_code, [so, &g, desc_opt] {
    if (Status s = ValidateSecretName(so->name); !s.ok()) throw CommandError{s.message()};
    if (!so->value.empty() && !so->from_file.empty()) throw CommandError{"give either VALUE or --from-file, not both"};
    SecretString value = !so->from_file.empty() ? ReadValueFromFile(so->from_file)
                         : !so->value.empty()   ? SecretString(std::move(so->value))
                                                : ReadValueFromStdin(so->name);
    Cleanse(so->value);
    if (value.empty()) throw CommandError{"the value is empty"};
    json body = {{"value", std::string(value.view())}};
    if (desc_opt->count() > 0) body["description"] = so->description;
    std::string payload = body.dump();
    Cleanse(body["value"].get_ref<std::string&>());
    HeaderList extra;
    if (!so->if_revision.empty()) extra.emplace_back("If-Match", so->if_revision);
    Api api(g);
    int status = 0;
    json m;
    try {
      m = api.Call("PUT", "/api/v1/secrets/" + so->name, so->env, payload, extra, &status);
    } catch (...) {
      Cleanse(payload);
      throw;
    }
    Cleanse(payload);
    if (g.json) return PrintJson(m);
    fmt::print("{} secret {} in environment {} (revision {})\n", status == 201 ? "created" : "updated", so->name,
               so->env, m.value("revision", 0ULL));
  }));

  auto list_env = std::make_shared<std::string>(DefaultEnv());
  CLI::App* list = secret->add_subcommand("list", "List secrets (metadata only)");
  list->add_option("-e,--env", *list_env, "Environment");
  list->callback(Guard(exit_code, [list_env, &g] {
    json r = Api(g).Call("GET", "/api/v1/secrets", *list_env);
    if (g.json) return PrintJson(r);
    const auto& secrets = r["secrets"];
    if (secrets.empty()) {
      fmt::print("no secrets in environment {}\n", *list_env);
      return;
    }
    fmt::print("{:<32} {:>10}  {:<24}  {:<9}  {}\n", "NAME", "REVISION", "UPDATED", "ENCRYPTED", "DESCRIPTION");
    for (const auto& m : secrets) {
      fmt::print("{:<32} {:>10}  {:<24}  {:<9}  {}\n", m.value("name", ""), m.value("revision", 0ULL),
                 m.value("updated_at", ""), m.value("encrypted", false) ? "yes" : "no", m.value("description", ""));
    }
  }));

  struct NameEnv {
    std::string name, env = DefaultEnv(), if_revision;
    bool yes = false;
  };
  auto go = std::make_shared<NameEnv>();
  CLI::App* get = secret->add_subcommand("get", "Show a secret's metadata (never its value)");
  get->add_option("NAME", go->name)->required();
  get->add_option("-e,--env", go->env, "Environment");
  get->callback(Guard(exit_code, [go, &g] {
    if (Status s = ValidateSecretName(go->name); !s.ok()) throw CommandError{s.message()};
    json m = Api(g).Call("GET", "/api/v1/secrets/" + go->name, go->env);
    if (g.json) return PrintJson(m);
    PrintMetadata(m);
  }));

  auto del = std::make_shared<NameEnv>();
  CLI::App* delete_cmd = secret->add_subcommand("delete", "Delete a secret");
  delete_cmd->add_option("NAME", del->name)->required();
  delete_cmd->add_option("-e,--env", del->env, "Environment");
  delete_cmd->add_option("--if-revision", del->if_revision, "Only delete if the secret is at this revision");
  delete_cmd->add_flag("-y,--yes", del->yes, "Do not ask for confirmation");
  delete_cmd->callback(Guard(exit_code, [del, &g] {
    if (Status s = ValidateSecretName(del->name); !s.ok()) throw CommandError{s.message()};
    if (!del->yes && isatty(STDIN_FILENO) &&
        !Confirm("Delete secret " + del->name + " from environment " + del->env + "?")) {
      throw CommandError{"aborted"};
    }
    HeaderList extra;
    if (!del->if_revision.empty()) extra.emplace_back("If-Match", del->if_revision);
    Api(g).Call("DELETE", "/api/v1/secrets/" + del->name, del->env, "", extra);
    if (g.json) return PrintJson(json{{"deleted", del->name}, {"environment", del->env}});
    fmt::print("deleted secret {} from environment {}\n", del->name, del->env);
  }));

  struct ImportOpts {
    std::string file, env = DefaultEnv();
    bool overwrite = false;
  };
  auto io = std::make_shared<ImportOpts>();
  CLI::App* import =
      secret->add_subcommand("import", "Set many secrets from a dotenv file (names are reported, never values)");
  import
      ->add_option("FILE", io->file,
                   "A .env file: NAME=value lines, export prefixes, comments, quoted multi-line values")
      ->required();
  import->add_option("-e,--env", io->env, "Environment");
  import->add_flag("--overwrite", io->overwrite, "Replace secrets that already exist (default: skip them)");
  import->callback(Guard(exit_code, [io, &g] {
    SecretString text = ReadValueFromFile(io->file);
  auto parsed = ParseDotenv(text.view());
  if (!parsed.ok()) throw CommandError{io->file + ": " + parsed.status().message()};
  std::vector<DotenvEntry>& entries = *parsed;
  Api api(g);
  json report = {{"created", json::array()}, {"updated", json::array()}, {"skipped", json::array()}};
  bool any_invalid = false;
  for (auto& e : entries) {
    json body = {{"value", std::move(e.value)}};
    Cleanse(e.value);
    std::string reason;
    const bool invalid_name = !ValidateSecretName(e.name).ok();
    if (invalid_name)
      reason = "invalid name (line " + std::to_string(e.line) + ")";
    else if (body["value"].get_ref<std::string&>().empty())
      reason = "empty value";
    if (!reason.empty()) {
      any_invalid = any_invalid || invalid_name;
      report["skipped"].push_back({{"name", e.name}, {"reason", reason}});
      Cleanse(body["value"].get_ref<std::string&>());
      continue;
    }
    if (!io->overwrite) body["name"] = e.name;
    std::string payload = body.dump();
    Cleanse(body["value"].get_ref<std::string&>());
    int status = 0;
    try {
      if (io->overwrite)
        api.Call("PUT", "/api/v1/secrets/" + e.name, io->env, payload, {}, &status);
      else
        api.Call("POST", "/api/v1/secrets", io->env, payload, {}, &status);
    } catch (const CommandError& err) {
      Cleanse(payload);
      if (!io->overwrite && err.code == "already_exists") {
        report["skipped"].push_back({{"name", e.name}, {"reason", "exists (use --overwrite)"}});
        continue;
      }
      throw;
    }
    Cleanse(payload);
    report[status == 201 ? "created" : "updated"].push_back(e.name);
  }
  if (g.json) {
    PrintJson(report);
  } else {
    for (const char* what : {"created", "updated"}) {
      for (const auto& n : report[what]) fmt::print("{} {}\n", what, n.get<std::string>());
    }
    for (const auto& s : report["skipped"]) {
      fmt::print("skipped {}: {}\n", s["name"].get<std::string>(), s["reason"].get<std::string>());
    }
    fmt::print("{} created, {} updated, {} skipped in environment {}\n", report["created"].size(),
               report["updated"].size(), report["skipped"].size(), io->env);
  }
  if (any_invalid) throw CommandError{"some lines have invalid secret names; they were skipped"};
}));

auto vo = std::make_shared<NameEnv>();
CLI::App* versions = secret->add_subcommand("versions", "List a secret's kept revisions (metadata, who, when)");
versions->add_option("NAME", vo->name)->required();
versions->add_option("-e,--env", vo->env, "Environment");
versions->callback(Guard(exit_code, [vo, &g] {
  if (Status s = ValidateSecretName(vo->name); !s.ok()) throw CommandError{s.message()};
  json r = Api(g).Call("GET", "/api/v1/secrets/" + vo->name + "/versions", vo->env);
  if (g.json) return PrintJson(r);
  fmt::print("{:>10}  {:<24}  {:<8}  {:<18}  {}\n", "REVISION", "WRITTEN", "STATE", "KEY ID", "BY");
  for (const auto& v : r["versions"]) {
    std::string by = v["actor"].is_object() ? v["actor"].value("name", "") : "";
    std::string key_id = v["key_id"].is_string() ? v["key_id"].get<std::string>() : "-";
    fmt::print("{:>10}  {:<24}  {:<8}  {:<18}  {}\n", v.value("revision", 0ULL), v.value("created_at", ""),
               v.value("deleted", false) ? "deleted" : "value", key_id, by);
  }
}));

struct RekeyOpts {
  std::string env = DefaultEnv();
  bool all = false;
};
auto rk = std::make_shared<RekeyOpts>();
CLI::App* rekey =
    secret->add_subcommand("rekey", "Re-encrypt secrets still under an old master key with the current one");
rekey->add_option("-e,--env", rk->env, "Environment (default: IRONFLOW_ENV, else default)");
rekey->add_flag("--all", rk->all, "Every environment");
rekey->callback(Guard(exit_code, [rk, &g] {
  json r = Api(g).Call("POST", "/api/v1/rekey", rk->all ? "" : rk->env, json{{"all", rk->all}}.dump());
  if (g.json) return PrintJson(r);
  fmt::print("re-encrypted {} secret(s) in {} under key id {}; {} already current; {} failed\n", r.value("rekeyed", 0),
             rk->all ? "all environments" : ("environment " + rk->env), r.value("key_id", ""),
             r.value("already_current", 0), r["failed"].size());
  for (const auto& f : r["failed"]) fmt::print("  failed: {}\n", f.get<std::string>());
  for (const auto& [id, n] : r["secrets_by_key_id"].items()) {
    fmt::print("  key id {}: {} secret(s)\n", id, n.get<uint64_t>());
  }
  if (!r["failed"].empty())
    throw CommandError{"some secrets were not re-encrypted; run it again, or check the server log"};
}));

struct RollbackOpts {
  std::string name, env = DefaultEnv(), if_revision;
  uint64_t revision = 0;
};
auto ro = std::make_shared<RollbackOpts>();
CLI::App* rollback = secret->add_subcommand("rollback", "Write an earlier revision's value again, as a new revision");
rollback->add_option("NAME", ro->name)->required();
rollback->add_option("REVISION", ro->revision, "The revision to restore (see `secret versions`)")->required();
rollback->add_option("-e,--env", ro->env, "Environment");
rollback->add_option("--if-revision", ro->if_revision, "Only if the secret is currently at this revision");
rollback->callback(Guard(exit_code, [ro, &g] {
  if (Status s = ValidateSecretName(ro->name); !s.ok()) throw CommandError{s.message()};
  HeaderList extra;
  if (!ro->if_revision.empty()) extra.emplace_back("If-Match", ro->if_revision);
  json m = Api(g).Call("POST", "/api/v1/secrets/" + ro->name + "/rollback", ro->env,
                       json{{"revision", ro->revision}}.dump(), extra);
  if (g.json) return PrintJson(m);
  fmt::print("restored secret {} in environment {} to the value of revision {} (now revision {})\n", ro->name, ro->env,
             ro->revision, m.value("revision", 0ULL));
}));
}  // namespace

void AddApiKeyCommands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  CLI::App* ak = app.add_subcommand("apikey", "Manage API keys and their roles (admin)");
  ak->require_subcommand(1);
  struct Opts {
    std::string name, role, env, id;
    int64_t expires_in = 0;
    std::vector<std::string> functions, secrets;
  };
  auto print_key = [&g](const json& r, const char* verb) {
    if (g.json) return PrintJson(r);
    fmt::print("{} API key {} ({}, role {}{})\n", verb, r.value("id", ""), r.value("name", ""), r.value("role", ""),
               r["environment"].is_string() ? (", environment " + r["environment"].get<std::string>()).c_str() : "");
    fmt::print("{}\n", r.value("key", ""));
    fmt::print(stderr, "store it now: the key is shown only once\n");
  };
  auto c = std::make_shared<Opts>();
  CLI::App* create = ak->add_subcommand("create", "Create a key (printed once)");
  create->add_option("NAME", c->name)->required();
  create->add_option("--role", c->role, "admin, manager, reader or worker")->required();
  create->add_option("-e,--env", c->env, "Environment the key is bound to (every role but admin)");
  create->add_option("--expires-in", c->expires_in, "Seconds until the key stops working (default: never)");
  create
      ->add_option("--functions", c->functions,
                   "Worker/manager keys: function ids it may register and serve (patterns, * = any run of name "
                   "characters; comma-separated or repeated). Required for worker keys; '*' allows all")
      ->delimiter(',');
  create
      ->add_option("--secrets", c->secrets,
                   "Worker/manager keys: secret names its functions may declare and receive (e.g. 'STRIPE_*'). "
                   "Required for worker keys; '*' allows all")
      ->delimiter(',');
  create->callback(Guard(exit_code, [c, &g, print_key] {
    json body = {{"name", c->name}, {"role", c->role}};
    if (!c->functions.empty()) body["functions"] = c->functions;
    if (!c->secrets.empty()) body["secrets"] = c->secrets;
    if (!c->env.empty()) body["environment"] = c->env;
    if (c->expires_in > 0) body["expires_in"] = c->expires_in;
    json r = Api(g).Call("POST", "/api/v1/apikeys", "", body.dump());
    print_key(r, "created");
  }));
  CLI::App* list = ak->add_subcommand("list", "List keys (ids and metadata; never the keys)");
  list->callback(Guard(exit_code, [&g] {
    json r = Api(g).Call("GET", "/api/v1/apikeys", "");
    if (g.json) return PrintJson(r);
    auto joined = [](const json& list) {
      if (!list.is_array()) return std::string("-");
      std::string out;
      for (const auto& p : list) out += (out.empty() ? "" : ",") + p.get<std::string>();
      return out;
    };
    fmt::print("{:<16} {:<24} {:<8} {:<16} {:<24} {:<24} {:<16} {}\n", "ID", "NAME", "ROLE", "ENVIRONMENT", "CREATED",
               "EXPIRES", "FUNCTIONS", "SECRETS");
    for (const auto& k : r["apikeys"]) {
      fmt::print("{:<16} {:<24} {:<8} {:<16} {:<24} {:<24} {:<16} {}{}\n", k.value("id", ""), k.value("name", ""),
                 k.value("role", ""), k["environment"].is_string() ? k["environment"].get<std::string>().c_str() : "*",
                 k.value("created_at", ""),
                 k["expires_at"].is_string() ? k["expires_at"].get<std::string>().c_str() : "never",
                 joined(k["functions"]), joined(k["secrets"]),
                 k.value("legacy_scope", false)
                     ? "  (legacy: created before allow-lists; re-create it with --functions/--secrets)"
                     : "");
    }
  }));
  auto ro = std::make_shared<Opts>();
  CLI::App* rotate = ak->add_subcommand("rotate", "Replace a key's secret part (same id, role and binding)");
  rotate->add_option("ID", ro->id)->required();
  rotate->callback(Guard(exit_code, [ro, &g, print_key] {
    json r = Api(g).Call("POST", "/api/v1/apikeys/" + ro->id + "/rotate", "", "{}");
    print_key(r, "rotated");
  }));
  auto d = std::make_shared<Opts>();
  CLI::App* del = ak->add_subcommand("delete", "Revoke a key");
  del->add_option("ID", d->id)->required();
  del->callback(Guard(exit_code, [d, &g] {
    Api(g).Call("DELETE", "/api/v1/apikeys/" + d->id, "");
    if (g.json) return PrintJson(json{{"deleted", d->id}});
    fmt::print("deleted API key {}\n", d->id);
  }));
}

void AddEnvCommands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  CLI::App* env = app.add_subcommand("env", "Manage environments");
  env->require_subcommand(1);

  auto create_name = std::make_shared<std::string>();
  CLI::App* create = env->add_subcommand("create", "Create an environment");
  create->add_option("NAME", *create_name)->required();
  create->callback(Guard(exit_code, [create_name, &g] {
    json r = Api(g).Call("POST", "/api/v1/environments", "", json{{"name", *create_name}}.dump());
    if (g.json) return PrintJson(r);
    fmt::print("created environment {}\n", *create_name);
  }));

  CLI::App* list = env->add_subcommand("list", "List environments");
  list->callback(Guard(exit_code, [&g] {
    json r = Api(g).Call("GET", "/api/v1/environments", "");
    if (g.json) return PrintJson(r);
    fmt::print("{:<64}  {}\n", "NAME", "CREATED");
    for (const auto& e : r["environments"]) {
      fmt::print("{:<64}  {}\n", e.value("name", ""), e.value("created_at", ""));
    }
  }));

  struct DelOpts {
    std::string name;
    bool force = false, yes = false;
  };
  auto d = std::make_shared<DelOpts>();
  CLI::App* del = env->add_subcommand("delete", "Delete an environment (--force also deletes its secrets)");
  del->add_option("NAME", d->name)->required();
  del->add_flag("--force", d->force, "Also delete every secret in it");
  del->add_flag("-y,--yes", d->yes, "Do not ask for confirmation");
  del->callback(Guard(exit_code, [d, &g] {
    if (Status s = ValidateEnvironmentName(d->name); !s.ok()) throw CommandError{s.message()};
    if (!d->yes && isatty(STDIN_FILENO) &&
        !Confirm("Delete environment " + d->name + (d->force ? " and all its secrets" : "") + "?")) {
      throw CommandError{"aborted"};
    }
    Api(g).Call("DELETE", "/api/v1/environments/" + d->name + (d->force ? "?force=true" : ""), "");
    if (g.json) return PrintJson(json{{"deleted", d->name}});
    fmt::print("deleted environment {}\n", d->name);
  }));
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '*') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

void AddSubscribeCommand(CLI::App& app, GlobalOptions& g, int* exit_code) {
  struct SubOpts {
    std::vector<std::string> subjects;
    std::string env = DefaultEnv();
  };
  auto o = std::make_shared<SubOpts>();
  CLI::App* sub = app.add_subcommand("subscribe", "Print system events as they happen (one JSON per line)");
  sub->add_option("SUBJECT", o->subjects, "Subject patterns, e.g. 'system.secret.>'")->required();
  sub->add_option("-e,--env", o->env, "Environment");
  sub->callback(Guard(exit_code, [o, &g] {
    for (const auto& s : o->subjects) {
      if (Status st = ValidateSubjectPattern(s); !st.ok()) throw CommandError{st.message()};
    }
    // One subject goes to the server as is; several are filtered here from the whole system stream.
    std::string server_subject = o->subjects.size() == 1 ? o->subjects[0] : "system.>";
    Api api(g);
    auto client = api.Client();
    int status = 0;
    std::string pending, error_body;
    Status st = client->Stream(
        "/api/v1/stream?subject=" + UrlEncode(server_subject), api.BaseHeaders(o->env), [&](int s) { status = s; },
        [&](std::string_view data) {
          if (status >= 400) {
            error_body.append(data);
            return true;
          }
          pending.append(data);
          size_t end;
          while ((end = pending.find("\n\n")) != std::string::npos) {
            std::string frame = pending.substr(0, end);
            pending.erase(0, end + 2);
            if (frame == ": subscribed") {
              fmt::print(stderr, "subscribed to {} in environment {}\n", server_subject, o->env);
              continue;
            }
            if (frame.rfind("data: ", 0) != 0) continue;
            std::string payload = frame.substr(6);
            json ev = ParseBoundedJson(payload);
            if (ev.is_discarded()) continue;
            std::string subject = ev.value("subject", "");
            bool wanted = false;
            for (const auto& p : o->subjects) wanted = wanted || SubjectMatches(p, subject);
            if (!wanted) continue;
            fmt::print("{}\n", ev.dump());
            std::fflush(stdout);
          }
          return true;
        });
    if (status >= 400) {
      json doc = ParseBoundedJson(error_body);
      if (doc.is_object() && doc.contains("error")) throw CommandError{doc["error"].value("message", "request failed")};
      throw CommandError{"server answered HTTP " + std::to_string(status)};
    }
    if (!st.ok()) throw CommandError{st.message()};
  }));
}

void PrintRun(const json& r) {
  fmt::print("id:          {}\n", r.value("id", ""));
  fmt::print("function:    {}\n", r.value("function_id", ""));
  fmt::print("environment: {}\n", r.value("environment", ""));
  fmt::print("event:       {} ({})\n", r["event"].value("name", ""), r.value("event_id", ""));
  fmt::print("status:      {}\n", r.value("status", ""));
  fmt::print("attempt:     {}\n", r.value("attempt", 0));
  fmt::print("output:      {}\n", r["output"].dump());
  if (r["error"].is_string()) fmt::print("error:       {}\n", r["error"].get<std::string>());
  for (const auto& st : r["steps"]) fmt::print("step:        {} = {}\n", st.value("id", ""), st["output"].dump());
  fmt::print("created_at:  {}\n", r.value("created_at", ""));
  fmt::print("updated_at:  {}\n", r.value("updated_at", ""));
}

void AddRuntimeCommands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  struct EmitOpts {
    std::string name, data, data_file, env = DefaultEnv();
    bool wait = false;
    int timeout_s = 60;
  };
  auto eo = std::make_shared<EmitOpts>();
  CLI::App* emit = app.add_subcommand("emit", "Emit an event (starts the functions it triggers)");
  emit->add_option("NAME", eo->name, "Event name, e.g. payout.requested")->required();
  emit->add_option("--data", eo->data, "Event data as JSON");
  emit->add_option("--data-file", eo->data_file, "Read the event data (JSON) from a file");
  emit->add_option("-e,--env", eo->env, "Environment");
  emit->add_flag("--wait", eo->wait, "Wait until the triggered runs finish and print them");
  emit->add_option("--timeout", eo->timeout_s, "With --wait: give up after this many seconds")->capture_default_str();
  emit->callback(Guard(exit_code, [eo, &g] {
    std::string text = eo->data.empty() ? "{}" : eo->data;
    if (!eo->data_file.empty()) {
      if (!eo->data.empty()) throw CommandError{"give either --data or --data-file, not both"};
      std::ifstream in(eo->data_file);
      if (!in) throw CommandError{"cannot read " + eo->data_file};
      std::ostringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
    json data = ParseBoundedJson(text);
    if (data.is_discarded()) throw CommandError{"event data is not valid JSON"};
    Api api(g);
    json r = api.Call("POST", "/api/v1/events", eo->env, json{{"name", eo->name}, {"data", data}}.dump());
    if (!eo->wait) {
      if (g.json) return PrintJson(r);
      fmt::print("emitted {} ({}) in environment {}; runs: {}\n", eo->name, r.value("event_id", ""), eo->env,
                 r["run_ids"].size());
      for (const auto& id : r["run_ids"]) fmt::print("  {}\n", id.get<std::string>());
      return;
    }
    json finished = json::array();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(eo->timeout_s);
    bool failed = false;
    for (const auto& id : r["run_ids"]) {
      for (;;) {
        json run = api.Call("GET", "/api/v1/runs/" + id.get<std::string>(), eo->env);
        std::string status = run.value("status", "");
        if (status == "completed" || status == "failed") {
          failed = failed || status == "failed";
          finished.push_back(run);
          break;
        }
        if (std::chrono::steady_clock::now() > deadline)
          throw CommandError{"timed out waiting for run " + id.get<std::string>()};
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    if (g.json) {
      PrintJson(json{{"event_id", r["event_id"]}, {"runs", finished}});
    } else {
      for (const auto& run : finished) {
        PrintRun(run);
        fmt::print("\n");
      }
    }
    if (failed) throw CommandError{"a triggered run failed"};
  }));

  CLI::App* function = app.add_subcommand("function", "Inspect registered functions");
  function->require_subcommand(1);
  auto fenv = std::make_shared<std::string>(DefaultEnv());
  CLI::App* flist = function->add_subcommand("list", "List functions and whether their secrets are set");
  flist->add_option("-e,--env", *fenv, "Environment");
  flist->callback(Guard(exit_code, [fenv, &g] {
    json r = Api(g).Call("GET", "/api/v1/functions", *fenv);
    if (g.json) return PrintJson(r);
    if (r["functions"].empty()) {
      fmt::print("no functions in environment {}\n", *fenv);
      return;
    }
    fmt::print("{:<32} {:<5} {:<40} {}\n", "ID", "MODE", "TRIGGERS", "SECRETS");
    for (const auto& f : r["functions"]) {
      std::string triggers, secrets;
      for (const auto& t : f["triggers"]) triggers += (triggers.empty() ? "" : ",") + t.value("event", "");
      for (const auto& sc : f["secrets"]) {
        secrets += (secrets.empty() ? "" : ", ") + sc.value("name", "") + (sc.value("set", false) ? "" : " (NOT SET)");
      }
      fmt::print("{:<32} {:<5} {:<40} {}\n", f.value("id", ""), f.value("mode", ""), triggers, secrets);
    }
  }));
  auto fget = std::make_shared<std::pair<std::string, std::string>>("", DefaultEnv());
  CLI::App* fg = function->add_subcommand("get", "Show one function");
  fg->add_option("ID", fget->first)->required();
  fg->add_option("-e,--env", fget->second, "Environment");
  fg->callback(Guard(exit_code,
                     [fget, &g] { PrintJson(Api(g).Call("GET", "/api/v1/functions/" + fget->first, fget->second)); }));

  CLI::App* run = app.add_subcommand("run", "Inspect runs");
  run->require_subcommand(1);
  struct RunListOpts {
    std::string env = DefaultEnv(), function_id, status;
    int limit = 20;
  };
  auto rl = std::make_shared<RunListOpts>();
  CLI::App* rlist = run->add_subcommand("list", "List recent runs");
  rlist->add_option("-e,--env", rl->env, "Environment");
  rlist->add_option("--function", rl->function_id, "Only this function");
  rlist->add_option("--status", rl->status, "queued, running, completed or failed");
  rlist->add_option("--limit", rl->limit, "At most this many")->capture_default_str();
  rlist->callback(Guard(exit_code, [rl, &g] {
    std::string target = "/api/v1/runs?limit=" + std::to_string(rl->limit);
    if (!rl->function_id.empty()) target += "&function_id=" + UrlEncode(rl->function_id);
    if (!rl->status.empty()) target += "&status=" + UrlEncode(rl->status);
    json r = Api(g).Call("GET", target, rl->env);
    if (g.json) return PrintJson(r);
    fmt::print("{:<28} {:<24} {:<10} {:>7}  {}\n", "ID", "FUNCTION", "STATUS", "ATTEMPT", "UPDATED");
    for (const auto& x : r["runs"]) {
      fmt::print("{:<28} {:<24} {:<10} {:>7}  {}\n", x.value("id", ""), x.value("function_id", ""),
                 x.value("status", ""), x.value("attempt", 0), x.value("updated_at", ""));
    }
  }));
  auto rg = std::make_shared<std::pair<std::string, std::string>>("", DefaultEnv());
  CLI::App* rget = run->add_subcommand("get", "Show one run (output and errors are redacted)");
  rget->add_option("ID", rg->first)->required();
  rget->add_option("-e,--env", rg->second, "Environment");
  rget->callback(Guard(exit_code, [rg, &g] {
    json r = Api(g).Call("GET", "/api/v1/runs/" + rg->first, rg->second);
    if (g.json) return PrintJson(r);
    PrintRun(r);
  }));

  CLI::App* sk = app.add_subcommand("signing-key", "The push-mode request signing key");
  sk->require_subcommand(1);
  CLI::App* show = sk->add_subcommand("show", "Print the signing key (configure it in push-mode apps)");
  show->callback(Guard(exit_code, [&g] {
    json r = Api(g).Call("GET", "/api/v1/signing-key", "");
    if (g.json) return PrintJson(r);
    fmt::print("{}\n", r.value("signing_key", ""));
  }));
  auto grace = std::make_shared<int64_t>(86400);
  CLI::App* rotate = sk->add_subcommand(
      "rotate", "Make a new signing key; the old one keeps signing (both v1= signatures) for the grace period");
  rotate->add_option("--grace-seconds", *grace, "How long the old key keeps signing (0-2592000; 0: stop at once)")
      ->capture_default_str();
  rotate->callback(Guard(exit_code, [&g, grace] {
    json r = Api(g).Call("POST", "/api/v1/signing-key/rotate", "", json{{"grace_seconds", *grace}}.dump());
    if (g.json) return PrintJson(r);
    fmt::print("{}\n", r.value("signing_key", ""));
    if (r.contains("previous_valid_until") && r["previous_valid_until"].is_string()) {
      fmt::print(stderr,
                 "new signing key above; the previous key keeps signing until {} — update your push apps "
                 "before then\n",
                 r["previous_valid_until"].get<std::string>());
    } else {
      fmt::print(stderr, "new signing key above; the previous key no longer signs\n");
    }
  }));
}

void AddAuditCommand(CLI::App& app, GlobalOptions& g, int* exit_code) {
  struct Args {
    std::string env = DefaultEnv(), kind, name, since = "24h";
    int limit = 100;
    bool all = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* audit = app.add_subcommand("audit", "The audit trail: who changed what, and when (never a value)");
  audit->require_subcommand(1);
  CLI::App* list = audit->add_subcommand("list", "List audit events, newest first");
  list->add_option("-e,--env", a->env, "Environment")->envname("IRONFLOW_ENV");
  list->add_flag("--all-environments", a->all, "Every environment, plus API-key, rekey and signing-key events (admin)");
  list->add_option(
      "--kind", a->kind,
      "secret, config, run, environment, kv, apikey, rekey, signingkey or access (who received which secret)");
  list->add_option("--name", a->name, "One secret, config document or run (needs --kind)");
  list->add_option("--since", a->since, "30m, 1h, 7d or an RFC 3339 time")->capture_default_str();
  list->add_option("--limit", a->limit, "At most this many events (1-5000)")->capture_default_str();
  list->callback(Guard(exit_code, [&g, a] {
    std::string target = "/api/v1/audit?since=" + UrlEncode(a->since) + "&limit=" + std::to_string(a->limit);
    if (!a->kind.empty()) target += "&kind=" + UrlEncode(a->kind);
    if (!a->name.empty()) target += "&name=" + UrlEncode(a->name);
    json r = Api(g).Call("GET", target, a->all ? "*" : a->env);
    if (g.json) return PrintJson(r);
    for (const auto& e : r.value("entries", json::array())) {
      const json& ev = e.value("event", json::object());
      const json& actor = ev.value("actor", json::object());
      std::string who = actor.value("name", "");
      if (who.empty()) who = actor.value("type", "?");
      if (!actor.value("id", std::string()).empty()) who += " (" + actor.value("id", std::string()) + ")";
      fmt::print("{}  {:<12}  {:<44}  {}\n", e.value("time", ""), ev.value("environment", ""), e.value("subject", ""),
                 who);
    }
    if (r.value("truncated", false)) fmt::print(stderr, "(more events match: raise --limit or narrow --since)\n");
  }));
}

}  // namespace ironflow::server::cli

void AddClientCommands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  AddRuntimeCommands(app, g, exit_code);
  AddSecretCommands(app, g, exit_code);
  AddEnvCommands(app, g, exit_code);
  AddApiKeyCommands(app, g, exit_code);
  AddSubscribeCommand(app, g, exit_code);
  AddAuditCommand(app, g, exit_code);
  AddStoreCommands(app, g, exit_code);
  AddAdminKeyCommand(app, g, exit_code);
  AddBackupCommands(app, g, exit_code);
  CLI::App* version = app.add_subcommand("version", "Print the version");
  version->callback([&g] {
    if (g.json)
      fmt::print("{}\n", json{{"version", IRONFLOW_VERSION}}.dump());
    else
      fmt::print("ironflow {}\n", IRONFLOW_VERSION);
  });
}

}  // namespace ironflow::server::cli
