// `ironflow config ...` and `ironflow kv ...`: the config store and the user KV store, over the HTTP API.
#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/cli_support.h"
#include "common/bounded_json.h"
#include "common/hex.h"
#include "common/names.h"

namespace ironflow::server::cli {
namespace {

void Check(const Status& s) {
  if (!s.ok()) throw CommandError{s.message()};
}

HeaderList RevisionHeaders(const std::string& if_revision, bool create_only) {
  HeaderList h;
  if (!if_revision.empty() && create_only) throw CommandError{"give either --if-revision or --create-only, not both"};
  if (!if_revision.empty()) h.emplace_back("If-Match", if_revision);
  if (create_only) h.emplace_back("If-None-Match", "*");
  return h;
}

std::string ReadAll(std::istream& in) {
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The JSON document of `config set/patch`: the argument, --file, or stdin; must be a JSON object.
std::string DocumentBody(const std::string& arg, const std::string& file) {
  if (!arg.empty() && !file.empty()) throw CommandError{"give either JSON or --file, not both"};
  std::string text = arg;
  if (!file.empty()) text = std::string(ReadValueFromFile(file).view());
  if (arg.empty() && file.empty()) text = ReadAll(std::cin);
  json doc = ParseBoundedJson(text);
  if (doc.is_discarded()) throw CommandError{"the document is not valid JSON"};
  if (!doc.is_object()) throw CommandError{"the document must be a JSON object, like {\"feature\": true}"};
  return json{{"data", doc}}.dump();
}

// Prints each `data:` frame's JSON on one line (comments such as heartbeats are skipped).
bool PrintFrame(const std::string& frame) {
  if (frame.rfind("data: ", 0) == 0) {
    fmt::print("{}\n", frame.substr(6));
    std::fflush(stdout);
  }
  return true;
}

void AddConfigCommands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  CLI::App* config = app.add_subcommand("config", "Manage config documents (readable JSON settings per environment)");
  config->require_subcommand(1);

  struct Opts {
    std::string name, json_text, file, env = DefaultEnv(), if_revision;
    bool create_only = false, yes = false;
  };

  for (const char* verb : {"set", "patch"}) {
    auto o = std::make_shared<Opts>();
    const bool is_set = std::string(verb) == "set";
    CLI::App* cmd =
        config->add_subcommand(verb, is_set ? "Replace a config document (JSON argument, --file, or stdin)"
                                            : "Merge top-level fields into a config document (null removes one)");
    cmd->add_option("NAME", o->name, "Config name")->required();
    cmd->add_option("JSON", o->json_text, "The document, a JSON object");
    cmd->add_option("-f,--file", o->file, "Read the document from this file");
    cmd->add_option("-e,--env", o->env, "Environment (IRONFLOW_ENV, else default)");
    cmd->add_option("--if-revision", o->if_revision, "Only write if the document is at this revision");
    if (is_set) cmd->add_flag("--create-only", o->create_only, "Only write if the document does not exist yet");
    cmd->callback(Guard(exit_code, [o, &g, is_set] {
      Check(ValidateConfigName(o->name));
      std::string body = DocumentBody(o->json_text, o->file);
      json r = Api(g).Call(is_set ? "PUT" : "PATCH", "/api/v1/config/" + o->name, o->env, body,
                           RevisionHeaders(o->if_revision, o->create_only));
      if (g.json) return PrintJson(r);
      fmt::print("{} config {} in environment {} (revision {})\n", is_set ? "set" : "patched", o->name, o->env,
                 r.value("revision", 0ULL));
    }));
  }

  auto go = std::make_shared<Opts>();
  CLI::App* get = config->add_subcommand("get", "Print a config document");
  get->add_option("NAME", go->name)->required();
  get->add_option("-e,--env", go->env, "Environment");
  get->callback(Guard(exit_code, [go, &g] {
    Check(ValidateConfigName(go->name));
    json r = Api(g).Call("GET", "/api/v1/config/" + go->name, go->env);
    if (g.json) return PrintJson(r);
    PrintJson(r["data"]);
  }));

  auto lo = std::make_shared<Opts>();
  CLI::App* list = config->add_subcommand("list", "List config documents");
  list->add_option("-e,--env", lo->env, "Environment");
  list->callback(Guard(exit_code, [lo, &g] {
    json r = Api(g).Call("GET", "/api/v1/config", lo->env);
    if (g.json) return PrintJson(r);
    if (r["configs"].empty()) {
      fmt::print("no config documents in environment {}\n", lo->env);
      return;
    }
    fmt::print("{:<32} {:>10}  {}\n", "NAME", "REVISION", "UPDATED");
    for (const auto& c : r["configs"]) {
      fmt::print("{:<32} {:>10}  {}\n", c.value("name", ""), c.value("revision", 0ULL), c.value("updated_at", ""));
    }
  }));

  auto d = std::make_shared<Opts>();
  CLI::App* del = config->add_subcommand("delete", "Delete a config document (succeeds if already absent)");
  del->add_option("NAME", d->name)->required();
  del->add_option("-e,--env", d->env, "Environment");
  del->add_option("--if-revision", d->if_revision, "Only delete if the document is at this revision");
  del->add_flag("-y,--yes", d->yes, "Do not ask for confirmation");
  del->callback(Guard(exit_code, [d, &g] {
    Check(ValidateConfigName(d->name));
    if (!d->yes && isatty(STDIN_FILENO) && !Confirm("Delete config " + d->name + " from environment " + d->env + "?")) {
      throw CommandError{"aborted"};
    }
    Api(g).Call("DELETE", "/api/v1/config/" + d->name, d->env, "", RevisionHeaders(d->if_revision, false));
    if (g.json) return PrintJson(json{{"deleted", d->name}, {"environment", d->env}});
    fmt::print("deleted config {} from environment {}\n", d->name, d->env);
  }));

  auto w = std::make_shared<Opts>();
  CLI::App* watch = config->add_subcommand("watch", "Print the document, then every change (one JSON per line)");
  watch->add_option("NAME", w->name)->required();
  watch->add_option("-e,--env", w->env, "Environment");
  watch->callback(Guard(exit_code, [w, &g] {
    Check(ValidateConfigName(w->name));
    Api(g).Stream("/api/v1/config/" + w->name + "/watch", w->env, PrintFrame);
  }));
}

void AddKvCommands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  CLI::App* kv = app.add_subcommand("kv", "The KV store: buckets of keys per environment (sessions, caches, counters)");
  kv->require_subcommand(1);

  struct Opts {
    std::string bucket, key, value, file, env = DefaultEnv(), if_revision, description, filter;
    int64_t ttl = 0, by = 1;
    int history = 1, max_value_size = 0, replicas = 0;
    bool create_only = false, purge = false, yes = false;
  };

  CLI::App* bucket = kv->add_subcommand("bucket", "Create, list, inspect and delete buckets");
  bucket->require_subcommand(1);
  auto bc = std::make_shared<Opts>();
  CLI::App* create = bucket->add_subcommand("create", "Create a bucket");
  create->add_option("BUCKET", bc->bucket)->required();
  create->add_option("-e,--env", bc->env, "Environment");
  create->add_option("-d,--description", bc->description, "Description");
  create->add_option("--ttl", bc->ttl, "Seconds after which keys expire (0: never)");
  create->add_option("--history", bc->history, "Revisions kept per key (1-64)");
  create->add_option("--max-value-size", bc->max_value_size, "Largest value in bytes (default 512 KiB)");
  create->add_option("--replicas", bc->replicas, "Copies on a NATS cluster (1-5; default: the server's --kv-replicas)");
  create->callback(Guard(exit_code, [bc, &g] {
    Check(ValidateBucketName(bc->bucket));
    json body = {
        {"name", bc->bucket}, {"description", bc->description}, {"ttl_seconds", bc->ttl}, {"history", bc->history}};
    if (bc->max_value_size > 0) body["max_value_size"] = bc->max_value_size;
    if (bc->replicas != 0) body["replicas"] = bc->replicas;
    json r = Api(g).Call("POST", "/api/v1/kv/buckets", bc->env, body.dump());
    if (g.json) return PrintJson(r);
    fmt::print("created bucket {} in environment {} (ttl {}s, history {}, replicas {})\n", bc->bucket, bc->env,
               r.value("ttl_seconds", 0LL), r.value("history", 1), r.value("replicas", 1));
  }));

  auto bl = std::make_shared<Opts>();
  CLI::App* blist = bucket->add_subcommand("list", "List buckets");
  blist->add_option("-e,--env", bl->env, "Environment");
  blist->callback(Guard(exit_code, [bl, &g] {
    json r = Api(g).Call("GET", "/api/v1/kv/buckets", bl->env);
    if (g.json) return PrintJson(r);
    if (r["buckets"].empty()) {
      fmt::print("no buckets in environment {}\n", bl->env);
      return;
    }
    fmt::print("{:<32} {:>8} {:>8} {:>8} {:>10} {:>12}  {}\n", "BUCKET", "TTL(s)", "HISTORY", "REPLICAS", "VALUES",
               "BYTES", "DESCRIPTION");
    for (const auto& b : r["buckets"]) {
      fmt::print("{:<32} {:>8} {:>8} {:>8} {:>10} {:>12}  {}\n", b.value("name", ""), b.value("ttl_seconds", 0LL),
                 b.value("history", 1), b.value("replicas", 1), b.value("values", 0ULL), b.value("bytes", 0ULL),
                 b.value("description", ""));
    }
  }));

  auto bg = std::make_shared<Opts>();
  CLI::App* bget = bucket->add_subcommand("get", "Show a bucket's settings and usage");
  bget->add_option("BUCKET", bg->bucket)->required();
  bget->add_option("-e,--env", bg->env, "Environment");
  bget->callback(Guard(exit_code, [bg, &g] {
    Check(ValidateBucketName(bg->bucket));
    PrintJson(Api(g).Call("GET", "/api/v1/kv/buckets/" + bg->bucket, bg->env));
  }));

  auto bd = std::make_shared<Opts>();
  CLI::App* bdel = bucket->add_subcommand("delete", "Delete a bucket and every key in it");
  bdel->add_option("BUCKET", bd->bucket)->required();
  bdel->add_option("-e,--env", bd->env, "Environment");
  bdel->add_flag("-y,--yes", bd->yes, "Do not ask for confirmation");
  bdel->callback(Guard(exit_code, [bd, &g] {
    Check(ValidateBucketName(bd->bucket));
    if (!bd->yes && isatty(STDIN_FILENO) &&
        !Confirm("Delete bucket " + bd->bucket + " and all its keys from environment " + bd->env + "?")) {
      throw CommandError{"aborted"};
    }
    Api(g).Call("DELETE", "/api/v1/kv/buckets/" + bd->bucket, bd->env);
    if (g.json) return PrintJson(json{{"deleted", bd->bucket}, {"environment", bd->env}});
    fmt::print("deleted bucket {} from environment {}\n", bd->bucket, bd->env);
  }));

  auto key_path = [](const Opts& o) { return "/api/v1/kv/buckets/" + o.bucket + "/keys/" + o.key; };
  auto check_key = [](const Opts& o) {
    Check(ValidateBucketName(o.bucket));
    Check(ValidateKvKey(o.key));
  };

  auto p = std::make_shared<Opts>();
  CLI::App* put = kv->add_subcommand("put", "Write a key (value from argument, --file, or stdin; exact bytes)");
  put->add_option("BUCKET", p->bucket)->required();
  put->add_option("KEY", p->key)->required();
  put->add_option("VALUE", p->value, "Value");
  put->add_option("-f,--file", p->file, "Read the value from this file");
  put->add_option("-e,--env", p->env, "Environment");
  put->add_option("--if-revision", p->if_revision, "Only write if the key is at this revision");
  put->add_flag("--create-only", p->create_only, "Only write if the key does not exist");
  put->callback(Guard(exit_code, [p, &g, key_path, check_key] {
    check_key(*p);
    if (!p->value.empty() && !p->file.empty()) throw CommandError{"give either VALUE or --file, not both"};
    std::string value = !p->file.empty()    ? std::string(ReadValueFromFile(p->file).view())
                        : !p->value.empty() ? p->value
                                            : ReadAll(std::cin);
    json r = Api(g).Call("PUT", key_path(*p), p->env, value, RevisionHeaders(p->if_revision, p->create_only));
    if (g.json) return PrintJson(r);
    fmt::print("put {}/{} in environment {} (revision {})\n", p->bucket, p->key, p->env, r.value("revision", 0ULL));
  }));

  auto gt = std::make_shared<Opts>();
  CLI::App* get = kv->add_subcommand("get", "Print a key's value (exact bytes; --json for the entry)");
  get->add_option("BUCKET", gt->bucket)->required();
  get->add_option("KEY", gt->key)->required();
  get->add_option("-e,--env", gt->env, "Environment");
  get->callback(Guard(exit_code, [gt, &g, key_path, check_key] {
    check_key(*gt);
    json r = Api(g).Call("GET", key_path(*gt), gt->env);
    if (g.json) return PrintJson(r);
    auto bytes = Base64Decode(r.value("value", ""));
    if (!bytes) throw CommandError{"server sent a value that is not base64"};
    std::fwrite(bytes->data(), 1, bytes->size(), stdout);
    if (isatty(STDOUT_FILENO)) fmt::print("\n");
  }));

  auto dl = std::make_shared<Opts>();
  CLI::App* del = kv->add_subcommand("delete", "Delete a key (succeeds if already absent)");
  del->add_option("BUCKET", dl->bucket)->required();
  del->add_option("KEY", dl->key)->required();
  del->add_option("-e,--env", dl->env, "Environment");
  del->add_option("--if-revision", dl->if_revision, "Only delete if the key is at this revision");
  del->add_flag("--purge", dl->purge, "Also drop the key's history");
  del->callback(Guard(exit_code, [dl, &g, key_path, check_key] {
    check_key(*dl);
    Api(g).Call("DELETE", key_path(*dl) + (dl->purge ? "?purge=true" : ""), dl->env, "",
                RevisionHeaders(dl->if_revision, false));
    if (g.json) return PrintJson(json{{"deleted", dl->key}, {"bucket", dl->bucket}, {"environment", dl->env}});
    fmt::print("deleted {}/{} from environment {}\n", dl->bucket, dl->key, dl->env);
  }));

  auto ks = std::make_shared<Opts>();
  CLI::App* keys = kv->add_subcommand("keys", "List keys (--filter with NATS wildcards: user.*, user.>)");
  keys->add_option("BUCKET", ks->bucket)->required();
  keys->add_option("--filter", ks->filter, "Key pattern");
  keys->add_option("-e,--env", ks->env, "Environment");
  keys->callback(Guard(exit_code, [ks, &g] {
    Check(ValidateBucketName(ks->bucket));
    std::string target = "/api/v1/kv/buckets/" + ks->bucket + "/keys";
    if (!ks->filter.empty()) {
      Check(ValidateKvKeyPattern(ks->filter));
      target += "?filter=" + ks->filter;
    }
    json r = Api(g).Call("GET", target, ks->env);
    if (g.json) return PrintJson(r);
    for (const auto& k : r["keys"]) fmt::print("{}\n", k.get<std::string>());
  }));

  auto in = std::make_shared<Opts>();
  CLI::App* incr = kv->add_subcommand("incr", "Atomically add to an integer counter (a missing key counts from 0)");
  incr->add_option("BUCKET", in->bucket)->required();
  incr->add_option("KEY", in->key)->required();
  incr->add_option("--by", in->by, "Amount (may be negative; default 1)");
  incr->add_option("-e,--env", in->env, "Environment");
  incr->callback(Guard(exit_code, [in, &g, key_path, check_key] {
    check_key(*in);
    json r = Api(g).Call("POST", key_path(*in) + "/increment", in->env, json{{"by", in->by}}.dump());
    if (g.json) return PrintJson(r);
    fmt::print("{}\n", r.value("value", 0LL));
  }));

  auto wt = std::make_shared<Opts>();
  CLI::App* watch = kv->add_subcommand("watch", "Print current values, then every change (one JSON per line)");
  watch->add_option("BUCKET", wt->bucket)->required();
  watch->add_option("--key", wt->filter, "Key pattern (default: every key)");
  watch->add_option("-e,--env", wt->env, "Environment");
  watch->callback(Guard(exit_code, [wt, &g] {
    Check(ValidateBucketName(wt->bucket));
    std::string target = "/api/v1/kv/buckets/" + wt->bucket + "/watch";
    if (!wt->filter.empty()) {
      Check(ValidateKvKeyPattern(wt->filter));
      target += "?key=" + wt->filter;
    }
    Api(g).Stream(target, wt->env, PrintFrame);
  }));
}

}  // namespace

void AddStoreCommands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  AddConfigCommands(app, g, exit_code);
  AddKvCommands(app, g, exit_code);
}

}  // namespace ironflow::server::cli
