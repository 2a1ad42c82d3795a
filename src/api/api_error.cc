#include "api/api_util.h"

#include "common/bounded_json.h"
#include "common/json_nesting.h"
#include "crypto/secure_bytes.h"

namespace ironflow::server::api {

HttpResponse ErrorResponse(const Status& status) {
  HttpResponse r;
  r.status = status.http_status();
  r.body = json{{"error", {{"code", status.code_name()}, {"message", status.message()}}}}.dump();
  // The HTTP server adds Retry-After: 1 to any 429/503 without one; an error that knows better says so here.
  if (status.retry_after_s() > 0) r.headers.emplace_back("Retry-After", std::to_string(status.retry_after_s()));
  return r;
}

HttpResponse ErrorResponse(int http_status, std::string_view code, std::string_view message) {
  HttpResponse r;
  r.status = http_status;
  r.body = json{{"error", {{"code", code}, {"message", message}}}}.dump();
  return r;
}

HttpResponse JsonResponse(int http_status, const json& body) {
  HttpResponse r;
  r.status = http_status;
  r.body = body.dump();
  return r;
}

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  r.content_type = "application/json";
  return r;
}

Result<json> ParseJsonObject(std::string_view body, std::initializer_list<std::string_view> allowed) {
  if (body.empty()) return Status::InvalidArgument("request body must be a JSON object");
  bool too_deep = false;
  json doc = ParseBoundedJson(body, &too_deep, kMaxJsonNesting);
  if (too_deep) return CheckJsonNesting(body, "request body");
  if (doc.is_discarded()) return Status::InvalidArgument("request body is not valid JSON");
  if (!doc.is_object()) return Status::InvalidArgument("request body must be a JSON object");
  for (const auto& item : doc.items()) {
    bool known = false;
    for (auto a : allowed) known = known || item.key() == a;
    if (!known) {
      std::string field = item.key().size() > 64 ? item.key().substr(0, 64) + "..." : item.key();
      WipeStrings(doc);  // the tree may hold a value next to the typo
      return Status::InvalidArgument("unknown field \"" + field + "\"");
    }
  }
  return doc;
}

Result<std::optional<std::string>> OptionalString(const json& obj, std::string_view field) {
  auto it = obj.find(std::string(field));
  if (it == obj.end()) return std::optional<std::string>();
  if (!it->is_string()) return Status::InvalidArgument("field \"" + std::string(field) + "\" must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::string> RequiredString(const json& obj, std::string_view field) {
  IF_ASSIGN_OR_RETURN(auto v, OptionalString(obj, field));
  if (!v.has_value()) return Status::InvalidArgument("missing required field \"" + std::string(field) + "\"");
  return std::move(*v);
}

Result<std::optional<uint64_t>> ParseIfMatch(const HttpRequest& req) {
  auto h = req.header("if-match");
  if (!h) return std::optional<uint64_t>();
  std::string_view v = *h;
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.substr(0, 2) == "W/") v.remove_prefix(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  auto bad = [] { return Status::InvalidArgument("If-Match must be a revision number, like 5 or \"5\""); };
  if (v.empty() || v.size() > 19) return bad();
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return bad();
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return std::optional<uint64_t>(n);
}

Result<WritePrecondition> ParseWritePrecondition(const HttpRequest& req) {
  WritePrecondition out;
  IF_ASSIGN_OR_RETURN(auto if_match, ParseIfMatch(req));
  out.if_revision = if_match;
  if (auto h = req.header("if-none-match")) {
    std::string_view v = *h;
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    if (v != "*") return Status::InvalidArgument("If-None-Match supports only * (create only)");
    out.create_only = true;
  }
  if (out.create_only && out.if_revision) {
    return Status::InvalidArgument("send either If-None-Match: * or If-Match: <revision>, not both");
  }
  return out;
}

HttpResponse JsonResponseWithEtag(int http_status, const json& body, uint64_t revision) {
  HttpResponse r = JsonResponse(http_status, body);
  r.headers.emplace_back("ETag", "\"" + std::to_string(revision) + "\"");
  return r;
}

HttpResponse RawJsonResponseWithEtag(int http_status, std::string body, uint64_t revision) {
  HttpResponse r;
  r.status = http_status;
  r.body = std::move(body);
  r.headers.emplace_back("ETag", "\"" + std::to_string(revision) + "\"");
  return r;
}

std::string JsonWithRawField(std::string_view field, std::string_view raw, const json& others) {
  std::string rest = others.dump();  // "{...}"
  std::string out = "{" + json(std::string(field)).dump() + ":";
  out += json::accept(raw) ? raw : std::string_view("{}");
  if (rest.size() > 2)
    out += "," + rest.substr(1);
  else
    out += "}";
  return out;
}

void WipeStrings(json& j) { WipeJsonStrings(j); }

std::string DecodeParam(std::string_view raw) {
  // '+' is literal in a path; PercentDecode treats it as space (query semantics), so protect it first.
  std::string protected_plus;
  for (char c : raw) {
    if (c == '+')
      protected_plus += "%2B";
    else
      protected_plus.push_back(c);
  }
  return PercentDecode(protected_plus);
}

}  // namespace ironflow::server::api
