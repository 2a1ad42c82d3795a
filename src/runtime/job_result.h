// JobResult: what a function answered for one attempt, in either delivery mode (a pull worker's PUT, or a push
// app's HTTP answer), already validated. Parsing and validating the JSON body is the API layer's job
// (api/job_result_body.h); the engine only records what it is given.
#pragma once

#include <string>
#include <vector>

#include "runtime/run_store.h"

namespace ironflow::server {

struct JobResult {
  bool completed = false;
  std::string output_json = "null";  // JSON text; "null" when the function returned nothing
  std::string error;                 // the function's error message ("function failed" when it gave none)
  bool retryable = true;             // false: the function asked not to be retried
  std::vector<RunStep> steps;        // memoized (completed) steps
  std::string lease_token;           // a pull worker's token (empty for push answers)
};

}  // namespace ironflow::server
