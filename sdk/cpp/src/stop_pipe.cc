#include "stop_pipe.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace ironflow::detail {

StopPipe::StopPipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  read_fd_ = fds[0];
  write_fd_ = fds[1];
}

StopPipe::~StopPipe() {
  close(read_fd_);
  close(write_fd_);
}

void StopPipe::Notify() noexcept {
  const int saved = errno;
  const char byte = 1;
  ssize_t n;
  do {
    n = write(write_fd_, &byte, 1);
  } while (n < 0 && errno == EINTR);  // EAGAIN: the pipe is full of wake-ups already, which is enough
  errno = saved;
}

void StopPipe::Drain() noexcept {
  char buf[64];
  while (read(read_fd_, buf, sizeof buf) > 0) {
  }
}

bool StopPipe::Wait(int timeout_ms) noexcept {
  pollfd p{read_fd_, POLLIN, 0};
  int r;
  do {
    r = poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) return false;
  Drain();
  return true;
}

}  // namespace ironflow::detail
