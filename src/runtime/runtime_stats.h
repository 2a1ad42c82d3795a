// RuntimeStats: what the runtime plane counts for operators (rendered by /metrics, see docs/operations.md).
// Counters are since this process started; the delivery latency is each lease's wait from the moment its
// attempt became available (queued, or its retry backoff over) to the moment a worker or push call took it.
#pragma once

#include <cstdint>

#include "common/histogram.h"

namespace ironflow::server {

struct RuntimeStats {
  uint64_t runs_finished = 0;            // runs that reached completed or failed through this process
  uint64_t lease_expiries = 0;           // attempts recorded as failed because their lease ran out
  uint64_t attempt_failures_error = 0;   // attempts a function (or its push endpoint) reported as failed
  uint64_t job_redeliveries = 0;         // jobs that came back while their record still showed them leased
  uint64_t job_consumers_recreated = 0;  // job consumers found without a leader and made again (JobQueue)
  HistogramCounts delivery_latency;
};

}  // namespace ironflow::server
