// NatsInlineFree: nats.c messages are freed by the thread that destroys them, not by nats.c's collector thread.
//
// nats.c (3.4.1, Debian 12's) hands every natsMsg it destroys (each message received, each one published through
// natsMsg_Create) to a library-wide "garbage collector" thread, and wakes that thread whenever it is idle, which,
// between bursts, is for nearly every message. A run costs the server dozens of NATS messages, so those wake-ups
// were about a tenth of its futex calls and 13 % of its CPU per run in bench_pull_e2e (docs/benchmarks.md): on the
// virtual machines we run on, a thread wake-up costs more than the free() it defers.
//
// This process defines natsGC_collect itself (exported from the executable, like the natsThread_Detach guard, so
// libnats's calls through its PLT bind to it). It declines every item; nats.c's natsMsg_Destroy then frees the
// message on the spot (natsMsg_free), which is what the collector would have done later. Nothing in nats.c touches
// a destroyed message (checked 2026-12-06 against the disassembly of Debian's libnats 3.4.1, path by path, and by a
// program run under valgrind with this override: docs/decisions.md); where the library uses a message after the
// user's callback (JetStream auto-ack) it sets a no-destroy flag first. Without the export the library's own
// collector runs, which is correct, only slower.
#pragma once

namespace ironflow::server::nats {

// True when libnats calls this program's natsGC_collect. Called once at connect, which also keeps this object
// file in every program that talks to NATS.
bool InlineFreeActive();

}  // namespace ironflow::server::nats
