#include "store/nats_detach_guard.h"

#include <dlfcn.h>
#include <pthread.h>

extern "C" {

// See nats_detach_guard.h. Exported from the executable (cmake: --export-dynamic-symbol=natsThread_Detach). The
// handle is opaque here (natsThread is not in nats.c's public headers).
__attribute__((visibility("default"))) void natsThread_Detach(void* thread) {
  using DetachFn = void (*)(void*);
  static DetachFn library_detach = reinterpret_cast<DetachFn>(dlsym(RTLD_NEXT, "natsThread_Detach"));
  if (thread == nullptr) {
    pthread_detach(pthread_self());  // the recreating thread's own handle, which nats.c failed to read
    return;
  }
  if (library_detach != nullptr) library_detach(thread);
}
}

namespace ironflow::server::nats {

bool DetachGuardActive() {
  return dlsym(RTLD_DEFAULT, "natsThread_Detach") == reinterpret_cast<void*>(&natsThread_Detach);
}

}  // namespace ironflow::server::nats
