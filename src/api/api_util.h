// Helpers shared by the route files: JSON responses, the error envelope, strict JSON body parsing, If-Match.
// Internal to src/api (includes nlohmann/json; do not include from widely used headers).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/write_precondition.h"
#include "http/http_message.h"

namespace ironflow::server::api {

using nlohmann::json;

// {"error":{"code":"not_found","message":"..."}} with the status's HTTP code.
HttpResponse ErrorResponse(const Status& status);
// An error whose code has no Status::Code of its own (e.g. 422 idempotency_key_reused).
HttpResponse ErrorResponse(int http_status, std::string_view code, std::string_view message);
HttpResponse JsonResponse(int http_status, const json& body);
HttpResponse NoContent();

// Parses `body` as a JSON object whose keys are all in `allowed` (unknown fields, a typo like "valeu", are
// rejected). The error names the offending field but never echoes values.
Result<json> ParseJsonObject(std::string_view body, std::initializer_list<std::string_view> allowed);
// Reads an optional string field; kInvalidArgument if present with another type.
Result<std::optional<std::string>> OptionalString(const json& obj, std::string_view field);
// Reads a required string field.
Result<std::string> RequiredString(const json& obj, std::string_view field);

// If-Match: absent → nullopt; `5` or `"5"` (or W/"5") → 5; anything else → kInvalidArgument.
Result<std::optional<uint64_t>> ParseIfMatch(const HttpRequest& req);
// The write precondition of a PUT: If-None-Match: * (create only) and/or If-Match: <rev>. Both at once, or an
// If-None-Match other than `*`, → kInvalidArgument.
Result<WritePrecondition> ParseWritePrecondition(const HttpRequest& req);
// A response with an ETag header carrying `revision`.
HttpResponse JsonResponseWithEtag(int http_status, const json& body, uint64_t revision);
HttpResponse RawJsonResponseWithEtag(int http_status, std::string body, uint64_t revision);
// `others` (an object) serialized with `field` set to the JSON text `raw`, spliced in without parsing it (so a
// stored document of any depth can be served). `raw` that is not JSON is sent as {} (checked iteratively).
std::string JsonWithRawField(std::string_view field, std::string_view raw, const json& others);
// Overwrites every string inside `j` (OPENSSL_cleanse) before it is freed: request trees may hold values.
void WipeStrings(json& j);
// Percent-decoded path parameter.
std::string DecodeParam(std::string_view raw);

}  // namespace ironflow::server::api
