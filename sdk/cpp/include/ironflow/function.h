// Defining an Ironflow function: its configuration (id, triggers, declared secrets, retry policy, timeout), its
// handler, and the Context a handler receives (the event, the declared secrets, memoized steps).
//
//   auto payout = ironflow::createFunction(
//       {.id = "payout", .triggers = {{.event = "payout.requested"}}, .secrets = {"STRIPE_KEY"}},
//       [](ironflow::Context& ctx) -> nlohmann::json {
//         std::string_view key = ctx.secrets.get("STRIPE_KEY");
//         return ctx.step.run("charge", [&] { return nlohmann::json{{"charged", true}}; });
//       });
//
// Designated initializers must follow declaration order: id, triggers, secrets, name, retry, timeout_ms.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ironflow/errors.h"
#include "ironflow/stores.h"

namespace ironflow {

struct Trigger {
  std::string event;  // event name or NATS-style pattern: "payout.requested", "payout.*", "system.secret.>"
};

// Retry policy of a function; max_attempts counts the first attempt (3 = at most three tries).
struct RetryConfig {
  int max_attempts = 3;
  std::int64_t initial_delay_ms = 1000;
  double backoff_factor = 2.0;
  std::int64_t max_delay_ms = 300000;
};

struct FunctionConfig {
  std::string id;                    // ^[a-z0-9][a-z0-9_-]{0,127}$, unique per environment
  std::vector<Trigger> triggers;     // at least one
  std::vector<std::string> secrets;  // the only secrets this function may receive
  std::string name;                  // optional display name (the server defaults it to the id)
  RetryConfig retry;
  std::int64_t timeout_ms = 30000;  // enforced by the server: a slower attempt counts as failed
};

// The event that triggered the run.
struct Event {
  std::string id;
  std::string name;
  nlohmann::json data;
  std::string timestamp;  // RFC 3339, as sent by the server
};

// The secrets delivered with one attempt: exactly the declared names that are set in the run's environment.
// Values live only as long as the handler runs: the SDK overwrites them (OPENSSL_cleanse) when the handler
// returns or throws, so do not keep the views returned by get() beyond the handler.
class Secrets {
 public:
  Secrets() = default;
  Secrets(std::string function_id, std::vector<std::string> declared,
          std::map<std::string, std::string, std::less<>> values);
  ~Secrets();
  Secrets(Secrets&& other) noexcept = default;
  Secrets& operator=(Secrets&& other) noexcept;
  Secrets(const Secrets&) = delete;
  Secrets& operator=(const Secrets&) = delete;

  // The value of a declared secret. Throws SecretNotDeclared for a name the function did not declare (the
  // message lists the declared names), SecretNotSet for a declared name this attempt did not receive.
  std::string_view get(std::string_view name) const;
  // True when `name` is declared and its value was delivered. Never throws.
  bool has(std::string_view name) const;
  const std::vector<std::string>& declaredNames() const { return declared_; }
  // Overwrites and drops every value (the SDK calls it when the handler returns).
  void wipe() noexcept;

 private:
  bool isDeclared(std::string_view name) const;
  std::string function_id_;
  std::vector<std::string> declared_;
  std::map<std::string, std::string, std::less<>> values_;
};

// A step that completed, in this attempt or an earlier one.
struct CompletedStep {
  std::string id;
  nlohmann::json output;
};

// Memoized steps. run(id, fn) returns the stored output of a step that completed in an earlier attempt (or
// earlier in this one) without calling fn; otherwise it calls fn, records its output and returns it. If fn
// throws, nothing is recorded and the exception propagates. Use from the handler's thread.
class Steps {
 public:
  Steps() = default;
  explicit Steps(std::vector<CompletedStep> stored) : completed_(std::move(stored)) {}

  // fn returns nlohmann::json, anything convertible to it, or void (recorded as null).
  template <typename Fn>
  nlohmann::json run(std::string_view id, Fn&& fn) {
    checkId(id);
    if (const nlohmann::json* stored = find(id)) return *stored;
    if constexpr (std::is_void_v<std::invoke_result_t<Fn&>>) {
      fn();
      return record(id, nullptr);
    } else {
      return record(id, nlohmann::json(fn()));
    }
  }

  // Every completed step, stored ones first, then new ones in the order they ran. Sent back with the result.
  const std::vector<CompletedStep>& completed() const { return completed_; }
  // How many step functions this attempt actually called.
  int executed() const { return executed_; }

 private:
  static void checkId(std::string_view id);
  const nlohmann::json* find(std::string_view id) const;
  nlohmann::json record(std::string_view id, nlohmann::json output);
  std::vector<CompletedStep> completed_;
  int executed_ = 0;
};

// What a handler receives. The SDK builds one per attempt; tests may build one directly to unit-test a handler.
// `config` and kv(bucket) read and write the run's environment through the server (a Worker uses its own
// server_url/api_key; a PushServer those of PushServerOptions).
struct Context {
  std::string function_id;
  std::string run_id;
  int attempt = 1;  // 1-based
  std::string environment;
  Event event;
  Secrets secrets;
  Steps step;
  ConfigClient config;
  std::shared_ptr<detail::StoreAccess> store_access;  // set by the SDK

  KvClient kv(std::string_view bucket) const { return KvClient(store_access, environment, std::string(bucket)); }
};

using Handler = std::function<nlohmann::json(Context&)>;

// A function: its configuration and its handler. Copyable; add it to a Worker or a PushServer.
struct Function {
  FunctionConfig config;
  Handler handler;
};

// Checks the configuration (id syntax, at least one trigger, secret name syntax, a handler) and returns the
// function. Throws std::invalid_argument naming the field at fault.
Function createFunction(FunctionConfig config, Handler handler);

}  // namespace ironflow
