#include "events/live_events.h"

#include <nlohmann/json.hpp>

#include "common/bounded_json.h"
#include "common/names.h"

namespace ironflow::server {

Result<std::shared_ptr<void>> LiveEvents::Follow(const std::string& environment, std::string pattern,
                                                 OnEvent on_event) {
  IF_RETURN_IF_ERROR(ValidateSubjectPattern(pattern));
  if (!(pattern == ">" || pattern.rfind("system.", 0) == 0)) {
    return Status::InvalidArgument("subject must be a system.* pattern, e.g. system.secret.>");
  }
  if (pattern == ">") pattern = "system.>";
  auto sub = nc_.Subscribe(
      pattern, [environment, on_event = std::move(on_event)](std::string_view subject, std::string_view data) {
        nlohmann::json payload = ParseBoundedJson(data);
        if (!payload.is_object() || payload.value("environment", std::string()) != environment) return;
        on_event(subject, data);
      });
  if (!sub.ok()) return sub.status();
  return std::shared_ptr<void>(std::move(sub).value());
}

}  // namespace ironflow::server
