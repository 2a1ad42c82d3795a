// Internal: an async-signal-safe "stop" trigger. Notify() only writes one byte to a non-blocking pipe (write(2)
// is async-signal-safe and errno is preserved), so Worker::stop() and PushServer::stop() may be called from a
// signal handler; Wait() blocks a normal thread until a byte arrives and drains the pipe.
#pragma once

namespace ironflow::detail {

class StopPipe {
 public:
  StopPipe();  // throws std::system_error if no pipe can be created
  ~StopPipe();
  StopPipe(const StopPipe&) = delete;
  StopPipe& operator=(const StopPipe&) = delete;

  void Notify() noexcept;
  // Blocks until Notify() (or `timeout_ms`, -1 = no limit) and drains pending bytes. True if notified.
  bool Wait(int timeout_ms) noexcept;
  void Drain() noexcept;

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
};

}  // namespace ironflow::detail
