#include "events/audit_log.h"

#include <nlohmann/json.hpp>

#include "common/bounded_json.h"
#include "common/names.h"
#include "common/time_util.h"
#include "store/stream_reader.h"
#include "store/system_stream.h"

namespace ironflow::server {

bool IsAuditKind(std::string_view kind) {
  for (const char* k : {"secret", "config", "run", "environment", "kv", "apikey", "rekey", "signingkey", "access"}) {
    if (kind == k) return true;
  }
  return false;
}

Result<AuditPage> AuditLog::Read(const AuditQuery& query) {
  if (!query.kind.empty() && !IsAuditKind(query.kind)) {
    return Status::InvalidArgument(
        "kind must be secret, config, run, environment, kv, apikey, rekey, signingkey or access");
  }
  if (!query.name.empty()) {
    if (query.kind.empty()) return Status::InvalidArgument("name needs kind");
    if (Status s = ValidateSubjectPattern(query.name);
        !s.ok() || query.name.find_first_of(".*>") != std::string::npos) {
      return Status::InvalidArgument("name must be one secret, config or run name");
    }
  }
  if (query.limit < 1 || query.limit > kMaxAuditEntries) {
    return Status::InvalidArgument("limit must be between 1 and " + std::to_string(kMaxAuditEntries));
  }
  AuditPage page;
  if (query.since_ms > NowUnixMillis()) return page;
  StreamQuery q;
  q.stream = std::string(SystemStream::kName);
  q.subject_filter =
      query.kind.empty() ? "system.>" : "system." + query.kind + "." + (query.name.empty() ? "*" : query.name) + ".*";
  q.since_ns = query.since_ms * 1000000;
  q.keep = query.limit;
  const bool every_environment = query.environment == "*";
  const std::string& environment = query.environment;
  q.accept = [&environment, every_environment](const StreamMessage& m) {
    if (every_environment) return true;
    nlohmann::json p = ParseBoundedJson(m.data);
    return p.is_object() && p.value("environment", std::string()) == environment;
  };
  IF_ASSIGN_OR_RETURN(auto messages, ReadStream(nc_, q, &page.truncated));
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    page.entries.push_back(AuditEntry{it->sequence, std::move(it->subject), it->time_ns, std::move(it->data)});
  }
  return page;
}

}  // namespace ironflow::server
