// PushTransport: how the engine reaches push-mode apps, kept out of the runtime so that the runtime holds no HTTP.
// The engine hands over one call per leased attempt and hears its answer back; the transport (push/
// push_dispatcher.h) owns the threads the calls run on, signs each request, and validates the app's answer.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "runtime/job_result.h"

namespace ironflow::server {

struct PushCall {
  std::string url;   // the function's push URL
  std::string body;  // the delivery JSON, secret values included: the transport wipes it once sent
  int64_t timeout_ms = 0;
};

// The app's answer: a validated result, or why there is none (`retryable`: may another attempt help?).
struct PushAnswer {
  Result<JobResult> result = Status::Unavailable("no answer");
  bool retryable = true;
};

class PushTransport {
 public:
  using Done = std::function<void(PushAnswer)>;
  virtual ~PushTransport() = default;
  // How many more calls may start now (0 when the transport is full or stopping).
  virtual int room() const = 0;
  // Starts `call` on a transport thread; `done` runs there with the answer once the call ends (always, also when
  // the transport is stopping: in-flight calls finish). Returns false, and never calls `done`, once stopped.
  virtual bool Start(PushCall call, Done done) = 0;
  // No new calls; waits until every call started has ended and its `done` has returned.
  virtual void Stop() = 0;
};

}  // namespace ironflow::server
