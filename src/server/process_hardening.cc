#include "server/process_hardening.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace ironflow::server {

std::vector<std::string> HardenProcess() {
  std::vector<std::string> problems;
  rlimit none{0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0)
    problems.push_back(std::string("cannot disable core dumps: ") + std::strerror(errno));
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    problems.push_back(std::string("cannot mark the process non-dumpable: ") + std::strerror(errno));
  }
  // Idle long polls and event streams each hold a socket: allow as many as the hard limit permits.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &files) != 0) {
      problems.push_back(std::string("cannot raise the open-file limit: ") + std::strerror(errno));
    }
  }
  return problems;
}

}  // namespace ironflow::server
