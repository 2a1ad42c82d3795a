// Raw loopback HTTP for tests and benchmarks that must see exactly what goes over the socket (smuggling tables,
// idle connections), and /proc readings of a child process (threads, memory, environment).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ironflow::server::testing {

// Connects to 127.0.0.1:port and sends `bytes`; returns the open socket (the caller closes it) or -1.
int OpenLoopback(int port, const std::string& bytes);
// Sends `bytes` on a fresh connection and returns everything answered until the server closes it (or 5 s pass).
std::string RawExchange(int port, const std::string& bytes);
// Reads from an open socket until `marker` has arrived, the peer closes, or 10 s pass; returns what was read.
std::string ReadUntil(int fd, const std::string& marker);

// A numeric field of /proc/<pid>/status ("Threads", "VmRSS" in KiB); -1 when unreadable.
long ProcStatusField(pid_t pid, const std::string& field);
// The bytes of /proc/<pid>/<name> (e.g. "environ", "stat"); empty when unreadable.
std::string ReadProcFile(pid_t pid, const char* name);
// The pids whose parent is `parent`.
std::vector<pid_t> ChildrenOf(pid_t parent);

}  // namespace ironflow::server::testing
