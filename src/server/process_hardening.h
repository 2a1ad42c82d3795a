// Process-level protections for a server that holds keys and, briefly, secret values in memory: no core dumps
// (RLIMIT_CORE = 0) and not dumpable or ptrace-attachable by other unprivileged processes (PR_SET_DUMPABLE = 0);
// also raises the soft open-file limit to the hard one (every idle long poll or event stream holds a socket).
// Call once at start (the serve command does), before any key is read. Returns what could not be applied (for
// one warning each).
#pragma once

#include <string>
#include <vector>

namespace ironflow::server {

std::vector<std::string> HardenProcess();

}  // namespace ironflow::server
