// NatsDetachGuard: a workaround for a crash in nats.c (3.4.1, the version Debian 12 ships, and later ones).
//
// When a JetStream ordered consumer (every KvWatch and KV listing is one) sees a gap, nats.c starts a thread that
// recreates the consumer. If that thread cannot write its SUB/UNSUB protocol (the socket to a NATS node that just
// died, with SendAsap on), it takes an error branch that never reads its own thread handle and calls
// natsThread_Detach(NULL), which dereferences it: the whole server segfaults. The cluster test hit it after a
// node was killed.
//
// This process defines natsThread_Detach itself (exported from the executable, so it takes precedence over
// libnats's own definition for libnats's internal calls too: they go through the PLT). A non-NULL handle is passed
// to the library's function; NULL, which only that error branch passes (every other call site checks for it),
// detaches the calling thread, which is what the branch meant to do. nats.c then unsubscribes the watch; the
// reconnect that follows a dead socket resyncs every watch (docs/decisions.md).
#pragma once

namespace ironflow::server::nats {

// True when the guard is the natsThread_Detach that nats.c calls (the executable exports it). Called once at
// connect, which also keeps this object file in every program that talks to NATS.
bool DetachGuardActive();

}  // namespace ironflow::server::nats
