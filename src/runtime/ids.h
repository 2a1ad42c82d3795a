// Identifiers of the runtime plane: events, runs and jobs.
//
// A job is one delivery attempt of one run, so its id is derived from the run's: `job_<run hex>_<attempt>`.
// Any server can therefore find the run a worker's result belongs to from the job id alone, with no index.
#pragma once

#include <string>
#include <string_view>

namespace ironflow::server {

std::string NewId(const char* prefix);  // prefix + 24 random hex chars

std::string JobIdFor(const std::string& run_id, int attempt);
// The run id and attempt a job id names; false when `job_id` is not of that shape.
bool ParseJobId(std::string_view job_id, std::string* run_id, int* attempt);

}  // namespace ironflow::server
