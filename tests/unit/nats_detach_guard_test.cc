// The guard against nats.c's natsThread_Detach(NULL) crash (store/nats_detach_guard.h).
#include "store/nats_detach_guard.h"

#include <gtest/gtest.h>

#include <pthread.h>

#include <future>

extern "C" void natsThread_Detach(void* thread);

namespace ironflow::server {
namespace {

TEST(NatsDetachGuardTest, TheProgramExportsTheGuardSoLibnatsCallsIt) {
  EXPECT_TRUE(nats::DetachGuardActive())
      << "natsThread_Detach resolves to libnats's own: the link option --export-dynamic-symbol is missing";
}

TEST(NatsDetachGuardTest, DetachOfANullHandleDetachesTheCallingThreadInsteadOfCrashing) {
  // What nats.c's failed ordered-consumer reset does from its own thread.
  auto* detach_state = new std::promise<int>();  // the detached thread owns it: it may outlive this test's frame
  auto seen = detach_state->get_future();
  pthread_t thread;
  ASSERT_EQ(pthread_create(
                &thread, nullptr,
                [](void* arg) -> void* {
                  natsThread_Detach(nullptr);
                  pthread_attr_t attr;
                  int state = -1;
                  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
                    pthread_attr_getdetachstate(&attr, &state);
                    pthread_attr_destroy(&attr);
                  }
                  auto* promise = static_cast<std::promise<int>*>(arg);
                  promise->set_value(state);
                  delete promise;
                  return nullptr;
                },
                detach_state),
            0);
  EXPECT_EQ(seen.get(), PTHREAD_CREATE_DETACHED) << "the thread was left joinable: its stack would never be freed";
}

}  // namespace
}  // namespace ironflow::server
