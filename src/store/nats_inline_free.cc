#include "store/nats_inline_free.h"

#include <dlfcn.h>

extern "C" {

// See nats_inline_free.h. Exported from the executable (cmake: --export-dynamic-symbol=natsGC_collect). The item
// is opaque here (natsGCItem is not in nats.c's public headers); false tells the caller to free it itself.
__attribute__((visibility("default"))) bool natsGC_collect(void* /*item*/) { return false; }
}

namespace ironflow::server::nats {

bool InlineFreeActive() { return dlsym(RTLD_DEFAULT, "natsGC_collect") == reinterpret_cast<void*>(&natsGC_collect); }

}  // namespace ironflow::server::nats
