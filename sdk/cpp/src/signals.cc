#include "ironflow/signals.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <thread>

namespace ironflow {

struct ShutdownSignals::Impl {
  std::function<void()> on_signal;
  sigset_t set{};
  sigset_t previous{};
  std::atomic<bool> closing{false};
  std::thread waiter;
};

ShutdownSignals::ShutdownSignals(std::function<void()> on_signal) : impl_(std::make_unique<Impl>()) {
  impl_->on_signal = std::move(on_signal);
  sigemptyset(&impl_->set);
  sigaddset(&impl_->set, SIGINT);
  sigaddset(&impl_->set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &impl_->set, &impl_->previous);
  Impl* impl = impl_.get();
  impl_->waiter = std::thread([impl] {
    bool first = true;
    for (;;) {
      int sig = 0;
      if (sigwait(&impl->set, &sig) != 0) continue;
      if (impl->closing.load()) return;
      if (!first) std::_Exit(128 + sig);  // a second signal: the user insists
      first = false;
      if (impl->on_signal) impl->on_signal();
    }
  });
}

ShutdownSignals::~ShutdownSignals() {
  impl_->closing.store(true);
  // The signal is blocked everywhere the waiter could get it delivered but in sigwait: it wakes the waiter only.
  pthread_kill(impl_->waiter.native_handle(), SIGTERM);
  impl_->waiter.join();
  pthread_sigmask(SIG_SETMASK, &impl_->previous, nullptr);
}

}  // namespace ironflow
