// Client-side retries (CLI, C++ SDK): a request is sent again after an answer that says "try later" (503, 429, or
// no answer at all) only where repeating it is safe — a write that carries an Idempotency-Key (the server answers
// a repeat with the first answer, or finds out whether the first attempt landed) and, if the caller allows it, a
// read. Every other write is sent once: its outcome is the caller's to decide.
//
// SendWithRetries gives each logical request one Idempotency-Key (kept on every retry) on the server's keyed
// routes (IdempotentRoute). Backoff: 250 ms doubling to 4 s, with jitter, or the server's Retry-After (capped at
// 10 s), for up to 8 attempts (about 16 s: longer than a JetStream leader election).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "http/http_client.h"

namespace ironflow {

// True for the writes the server accepts an Idempotency-Key on: POST /api/v1/events, secret writes and rollback,
// config writes, KV key writes and counter increments. `target` may carry a query.
bool IdempotentRoute(std::string_view method, std::string_view target);
// 128 random bits, hex.
std::string NewIdempotencyKey();

struct RetryPolicy {
  int max_attempts = 8;
  int first_backoff_ms = 250;
  int max_backoff_ms = 4000;
  bool retry_reads = true;  // GET/HEAD too
};

// Sends the request, adding an Idempotency-Key to `headers` on a keyed route (unless it has one), and retries as
// above. Returns the last answer (or transport error). `headers` is not copied (a caller wipes its credentials).
Result<ClientResponse> SendWithRetries(HttpClient& client, std::string_view method, std::string_view target,
                                       HeaderList& headers, std::string_view body, int timeout_ms,
                                       const RetryPolicy& policy = {});

}  // namespace ironflow
