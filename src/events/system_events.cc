#include "events/system_events.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/time_util.h"

namespace ironflow::server {

namespace {

// The fields every system event carries: what happened, where, who, when.
nlohmann::json EventPayload(std::string type, std::string_view environment, const Actor& actor) {
  return nlohmann::json{{"type", std::move(type)},
                        {"environment", environment},
                        {"actor", {{"type", actor.type}, {"id", actor.id}, {"name", actor.name}}},
                        {"timestamp", FormatRfc3339(NowUnixMillis())}};
}

}  // namespace

Status SystemEvents::SecretChanged(SecretChange change, std::string_view environment, std::string_view name,
                                   uint64_t revision, const Actor& actor, bool repeat) {
  const char* verb = change == SecretChange::kCreated   ? "created"
                     : change == SecretChange::kUpdated ? "updated"
                                                        : "deleted";
  return Publish("secret", verb, environment, name, revision, actor, repeat);
}

Status SystemEvents::ConfigChanged(ConfigChange change, std::string_view environment, std::string_view name,
                                   uint64_t revision, const Actor& actor, bool repeat) {
  return Publish("config", change == ConfigChange::kUpdated ? "updated" : "deleted", environment, name, revision, actor,
                 repeat);
}

Status SystemEvents::Changed(std::string_view kind, std::string_view name, std::string_view verb,
                             std::string_view environment, const Actor& actor) {
  nlohmann::json payload = EventPayload(std::string(kind) + "." + std::string(verb), environment, actor);
  payload["name"] = name;
  return Send("system." + std::string(kind) + "." + std::string(name) + "." + std::string(verb), environment,
              payload.dump(), false);
}

Status SystemEvents::ApiKeyChanged(std::string_view verb, std::string_view id, std::string_view environment,
                                   const Actor& actor) {
  const std::string_view scope = environment.empty() ? std::string_view("*") : environment;
  nlohmann::json payload = EventPayload("apikey." + std::string(verb), scope, actor);
  payload["id"] = id;
  return Send("system.apikey." + std::string(id) + "." + std::string(verb), scope, payload.dump(), false);
}

StreamPublish SystemEvents::SecretDelivered(std::string_view environment, const SecretDelivery& d, const Actor& actor) {
  nlohmann::json payload = EventPayload("access.delivered", environment, actor);
  payload["name"] = d.name;
  payload["revision"] = d.revision;
  payload["run_id"] = d.run_id;
  payload["attempt"] = d.attempt;
  payload["function_id"] = d.function_id;
  if (!d.worker_id.empty()) payload["worker_id"] = d.worker_id;
  if (!d.push_url.empty()) payload["push_url"] = d.push_url;
  return StreamPublish{"system.access." + d.name + ".delivered", payload.dump()};
}

Status SystemEvents::RekeyCompleted(std::string_view scope, std::string_view key_id, int rekeyed, int already_current,
                                    int failed, const Actor& actor) {
  nlohmann::json payload = EventPayload("rekey.completed", scope, actor);
  payload["key_id"] = key_id;
  payload["rekeyed"] = rekeyed;
  payload["already_current"] = already_current;
  payload["failed"] = failed;
  return Send("system.rekey." + std::string(scope == "*" ? "all" : scope) + ".completed", scope, payload.dump(), false);
}

Status SystemEvents::Publish(std::string_view kind, std::string_view verb, std::string_view environment,
                             std::string_view name, uint64_t revision, const Actor& actor, bool repeat) {
  nlohmann::json payload = EventPayload(std::string(kind) + "." + std::string(verb), environment, actor);
  payload["name"] = name;
  payload["revision"] = revision;
  const std::string subject = "system." + std::string(kind) + "." + std::string(name) + "." + std::string(verb);
  return Send(subject, environment, payload.dump(), !repeat,
              actor.request.empty()
                  ? ""
                  : actor.request.id + ":" + std::string(environment) + ":" + subject + ":" + std::to_string(revision));
}

Status SystemEvents::Send(const std::string& subject, std::string_view environment, const std::string& payload,
                          bool notify_listener, std::string msg_id) {
  Status s = stream_.PublishDurably({StreamPublish{subject, payload, std::move(msg_id)}});
  if (notify_listener && listener_) listener_(std::string(environment), subject, payload);
  if (!s.ok()) {
    failures_.fetch_add(1);
    spdlog::error("event {} (environment {}) not stored: {}", subject, environment, s.message());
    return Status::Unavailable("the change was applied but its audit event could not be stored (" + s.message() +
                               "); it was not acknowledged");
  }
  return Status::Ok();
}

Status SystemEvents::PublishAll(const std::vector<StreamPublish>& messages) {
  if (messages.empty()) return Status::Ok();
  Status s = stream_.PublishDurably(messages);
  if (!s.ok()) {
    failures_.fetch_add(1);
    spdlog::error("{} event(s) starting with {} not stored: {}", messages.size(), messages[0].subject, s.message());
  }
  return s;
}

}  // namespace ironflow::server
