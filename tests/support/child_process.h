// ChildProcess: runs a program (an example SDK app, a long-running CLI command) with exactly the given
// environment, its output in a log file (stderr in `err_log` when given); SIGTERM and wait on destruction.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

namespace ironflow::server::testing {

class ChildProcess {
 public:
  ChildProcess(const std::string& path, const std::map<std::string, std::string>& env, const std::string& log,
               std::vector<std::string> args = {}, const std::string& err_log = "") {
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int err = err_log.empty() ? fd : open(err_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      dup2(err, 2);
      std::vector<std::string> envs;
      for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
      std::vector<char*> envp;
      for (auto& s : envs) envp.push_back(s.data());
      envp.push_back(nullptr);
      std::string bin = path;
      std::vector<char*> argv{bin.data()};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execve(bin.c_str(), argv.data(), envp.data());
      _exit(127);
    }
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

 private:
  pid_t pid_ = -1;
};

}  // namespace ironflow::server::testing
