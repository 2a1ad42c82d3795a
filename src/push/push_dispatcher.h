// PushDispatcher: the PushTransport of `ironflow serve`. Each call is a signed HTTP POST of the delivery to the
// function's URL (X-Ironflow-Signature from `sign`: the signing keyring's Sign in the server; https:// verified against
// `ca_file` or the system trust store), bounded by the function's timeout; the app's answer is validated
// (api/job_result_body.h).
//
// Calls run on threads the dispatcher owns: up to `max_in_flight` at once, started as needed and kept until
// Stop(), which waits for every call started to end and its `done` to return, then joins them. The delivery body
// (it holds secret values) is wiped once sent. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "runtime/push_transport.h"

namespace ironflow::server {

class PushDispatcher : public PushTransport {
 public:
  // The X-Ironflow-Signature header value for `body` at `unix_seconds`.
  using Signer = std::function<std::string(int64_t unix_seconds, std::string_view body)>;
  PushDispatcher(Signer sign, std::string ca_file, int max_in_flight = 32);
  ~PushDispatcher() override;

  int room() const override;
  bool Start(PushCall call, Done done) override;
  void Stop() override;

  // One call, on the calling thread (what each dispatcher thread runs).
  PushAnswer Call(PushCall& call);

 private:
  struct Task {
    PushCall call;
    Done done;
  };
  void Loop();

  Signer sign_;
  const std::string ca_file_;
  const int max_in_flight_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  int busy_ = 0;  // calls queued or running
  int idle_ = 0;  // threads waiting for a task
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ironflow::server
