// The result body both delivery modes answer with, {status, output?, error?: {message, retryable?}, steps?}
// (plus a pull worker's lease_token), parsed and validated into a JobResult. Unknown fields, a missing status,
// a malformed error or step, or nesting past the JSON limit are kInvalidArgument naming the field.
#pragma once

#include <string_view>

#include "common/status.h"
#include "runtime/job_result.h"

namespace ironflow::server {

Result<JobResult> ParseJobResult(std::string_view body, bool require_lease_token);

}  // namespace ironflow::server
