// nats.c messages freed by the thread that destroys them (store/nats_inline_free.h).
#include "store/nats_inline_free.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <nats/nats.h>
#if defined(__SANITIZE_ADDRESS__)
extern "C" size_t __sanitizer_get_current_allocated_bytes();  // AddressSanitizer's (GCC ships no header for it)
#endif

#include <string>

namespace ironflow::server {
namespace {

// Bytes the allocator has handed out and not yet taken back (AddressSanitizer's allocator replaces malloc's).
size_t AllocatedBytes() {
#if defined(__SANITIZE_ADDRESS__)
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
#endif
}

TEST(NatsInlineFreeTest, TheProgramExportsItsCollectorSoLibnatsCallsIt) {
  EXPECT_TRUE(nats::InlineFreeActive())
      << "natsGC_collect resolves to libnats's own: the link option --export-dynamic-symbol is missing";
}

TEST(NatsInlineFreeTest, ADestroyedMessageIsFreedBeforeDestroyReturns) {
  // A payload this large stands out from anything else this thread allocates meanwhile.
  ASSERT_EQ(nats_Open(-1), NATS_OK);  // the library's collector thread runs (what the export replaces)
  const std::string payload(8 << 20, 'x');
  const size_t allocated_before = AllocatedBytes();
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsMsg_Create(&msg, "a.subject", nullptr, payload.data(), static_cast<int>(payload.size())), NATS_OK);
  ASSERT_GE(AllocatedBytes(), allocated_before + payload.size());
  natsMsg_Destroy(msg);
  EXPECT_LT(AllocatedBytes(), allocated_before + payload.size())
      << "the message was left to nats.c's collector thread (no wake-up saved)";
}

}  // namespace
}  // namespace ironflow::server
