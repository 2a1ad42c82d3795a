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
  Publish("secret", verb, environment, name, revision, actor);
}

void SystemEvents::ConfigChanged(ConfigChange change, std::string_view environment, std::string_view name,
                                 uint64_t revision, const Actor& actor) {
  Publish("config", change == ConfigChange::kUpdated ? "updated" : "deleted", environment, name, revision, actor);
}

void SystemEvents::Changed(std::string_view kind, std::string_view name, std::string_view verb,
                           std::string_view environment, const Actor& actor) {
  nlohmann::json payload = {
      {"type", std::string(kind) + "." + std::string(verb)},
      {"environment", environment},
      {"name", name},
      {"actor", {{"type", actor.type}, {"id", actor.id}, {"name", actor.name}}},
      {"timestamp", FormatRfc3339(NowUnixMillis())},
  };
  std::string subject = "system." + std::string(kind) + "." + std::string(name) + "." + std::string(verb);
  if (Status s = stream_.Publish(subject, payload.dump()); !s.ok()) {
    failures_.fetch_add(1);
    spdlog::error("event {} not published: {}", subject, s.message());
  }
}

void SystemEvents::ApiKeyChanged(std::string_view verb, std::string_view id, std::string_view environment,
                                 const Actor& actor) {
  nlohmann::json payload = {
      {"type", "apikey." + std::string(verb)},
      {"environment", environment.empty() ? std::string_view("*") : environment},
      {"id", id},
      {"actor", {{"type", actor.type}, {"id", actor.id}, {"name", actor.name}}},
      {"timestamp", FormatRfc3339(NowUnixMillis())},
  };
  std::string subject = "system.apikey." + std::string(id) + "." + std::string(verb);
  if (Status s = stream_.Publish(subject, payload.dump()); !s.ok()) {
    failures_.fetch_add(1);
    spdlog::error("event {} not published: {}", subject, s.message());
  }
}

void SystemEvents::RekeyCompleted(std::string_view scope, std::string_view key_id, int rekeyed, int already_current,
                                  int failed, const Actor& actor) {
  nlohmann::json payload = {
      {"type", "rekey.completed"},
      {"environment", scope},
      {"key_id", key_id},
      {"rekeyed", rekeyed},
      {"already_current", already_current},
      {"failed", failed},
      {"actor", {{"type", actor.type}, {"id", actor.id}, {"name", actor.name}}},
      {"timestamp", FormatRfc3339(NowUnixMillis())},
  };
  std::string subject = "system.rekey." + std::string(scope == "*" ? "all" : scope) + ".completed";
  Status s = stream_.Publish(subject, payload.dump());
  if (!s.ok()) {
    failures_.fetch_add(1);
    spdlog::error("event {} not published: {}", subject, s.message());
  }
}

void SystemEvents::Publish(std::string_view kind, std::string_view verb, std::string_view environment,
                           std::string_view name, uint64_t revision, const Actor& actor) {
  nlohmann::json payload = {
      {"type", std::string(kind) + "." + std::string(verb)},
      {"environment", environment},
      {"name", name},
      {"revision", revision},
      {"actor", {{"type", actor.type}, {"id", actor.id}, {"name", actor.name}}},
      {"timestamp", FormatRfc3339(NowUnixMillis())},
  };
  std::string subject = "system." + std::string(kind) + "." + std::string(name) + "." + std::string(verb);
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
