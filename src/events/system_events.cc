#include "events/system_events.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/time_util.h"

namespace ironflow {

void SystemEvents::SecretChanged(SecretChange change, std::string_view environment, std::string_view name,
                                 uint64_t revision, const Actor& actor) {
  const char* verb = change == SecretChange::kCreated ? "created"
                     : change == SecretChange::kUpdated ? "updated"
                                                        : "deleted";
  nlohmann::json payload = {
      {"type", std::string("secret.") + verb},
      {"environment", environment},
      {"name", name},
      {"revision", revision},
      {"actor", {{"type", actor.type}, {"id", actor.id}, {"name", actor.name}}},
      {"timestamp", FormatRfc3339(NowUnixMillis())},
  };
  std::string subject = "system.secret." + std::string(name) + "." + verb;
  std::string text = payload.dump();
  Status s = stream_.Publish(subject, text);
  if (listener_) listener_(std::string(environment), subject, text);
  if (!s.ok()) {
    failures_.fetch_add(1);
    spdlog::error("event {} (environment {}, revision {}) not published: {}", subject, environment, revision,
                  s.message());
  }
}

}  // namespace ironflow
