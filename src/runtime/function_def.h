// FunctionDef: a registered function, as declared by its app: triggers, the secrets it may receive, its retry
// policy, timeout and delivery mode. Parse validates every field and returns InvalidArgument naming the field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "runtime/run_state.h"

namespace ironflow::server {

struct RetryPolicy {
  int max_attempts = 3;  // counts the first attempt
  int64_t initial_delay_ms = 1000;
  double backoff_factor = 2.0;
  int64_t max_delay_ms = 300000;

  // Delay before attempt `next_attempt` (2-based: the first retry waits initial_delay_ms).
  int64_t DelayBefore(int next_attempt) const;
};

struct FunctionDef {
  std::string id;
  std::string name;
  std::string environment;
  std::vector<std::string> triggers;  // event name patterns (NATS wildcards)
  std::vector<std::string> secrets;   // declared secret names
  RetryPolicy retry;
  int64_t timeout_ms = 30000;
  DeliveryMode mode = DeliveryMode::kPull;
  std::string url;  // push only
  std::string created_at;
  std::string updated_at;

  bool TriggeredBy(std::string_view event_name) const;
};

Status ValidateFunctionId(std::string_view id);
// Validates an event name for emission: dot-separated tokens of [A-Za-z0-9_-], at most 256 chars.
Status ValidateEventName(std::string_view name);

// Parses the registration body {id, name?, triggers:[{event}], secrets:[...], retry?, timeout_ms?, mode, url?}.
Result<FunctionDef> ParseFunctionRegistration(std::string_view body);
// Storage/API JSON (object text) and back.
std::string EncodeFunctionDef(const FunctionDef& f);
Result<FunctionDef> DecodeFunctionDef(std::string_view json_text);

}  // namespace ironflow::server
