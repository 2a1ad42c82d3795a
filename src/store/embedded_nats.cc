#include "store/embedded_nats.h"

#include "store/nats_server_info.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "store/nats_server_info.h"

namespace ironflow::server {

std::string FindNatsServerBinary() {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::string p(path);
    size_t start = 0;
    for (;;) {
      size_t colon = p.find(':', start);
      dirs.push_back(p.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  dirs.push_back("/usr/sbin");
  dirs.push_back("/usr/local/sbin");
  for (const auto& d : dirs) {
    if (d.empty()) continue;
    std::string candidate = d + "/nats-server";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

namespace {

// Binds 127.0.0.1:port (0: the kernel picks) and returns the port bound, or 0.
int BindableLoopbackPort(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int bound = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) bound = ntohs(addr.sin_port);
  }
  close(fd);
  return bound;
}

// The lowest port of the kernel's ephemeral range (the local ports of outgoing connections).
int EphemeralRangeStart() {
  std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0;
  if (!(f >> low)) return 32768;
  return low;
}

// The last non-empty line of a file (nats-server's fatal error when it exits at start).
std::string LastLine(const std::string& path) {
  std::ifstream f(path);
  std::string line, last;
  while (std::getline(f, line)) {
    if (!line.empty()) last = line;
  }
  return last.empty() ? "no output" : last;
}

}  // namespace

int PickFreeLoopbackPort() {
  // A port from the kernel's ephemeral range can be handed, between our pick and nats-server's bind, to any
  // process's outgoing connection (another node's route, a client): the bind then fails. So pick at random
  // below that range, where only listeners live, and fall back to the kernel's pick.
  const int high = EphemeralRangeStart() - 1;
  constexpr int kLow = 20000;
  if (high - kLow >= 1000) {
    std::random_device rd;
    std::uniform_int_distribution<int> dist(kLow, high);
    for (int i = 0; i < 64; ++i) {
      if (int port = BindableLoopbackPort(dist(rd))) return port;
    }
  }
  return BindableLoopbackPort(0);
}

bool WaitForTcpPort(int port, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

Result<std::unique_ptr<EmbeddedNats>> EmbeddedNats::Start(Options options) {
  return StartAttempt(std::move(options), 1);
}

Result<std::unique_ptr<EmbeddedNats>> EmbeddedNats::StartAttempt(Options options, int attempt) {
  std::unique_ptr<EmbeddedNats> n(new EmbeddedNats(std::move(options)));
  n->binary_ = n->options_.binary.empty() ? FindNatsServerBinary() : n->options_.binary;
  if (n->binary_.empty() || access(n->binary_.c_str(), X_OK) != 0) {
    return Status::Unavailable("nats-server not found (looked for " +
                               (n->options_.binary.empty() ? std::string("nats-server on PATH") : n->options_.binary) +
                               "): install the Debian package `nats-server` (apt-get install nats-server), "
                               "or point ironflow at an existing server with --nats-url");
  }
  std::error_code ec;
  std::filesystem::create_directories(n->options_.store_dir, ec);
  if (ec) return Status::InvalidArgument("cannot create NATS store dir " + n->options_.store_dir + ": " + ec.message());
  chmod(n->options_.store_dir.c_str(), 0700);
  n->port_ = n->options_.port ? n->options_.port : PickFreeLoopbackPort();
  if (n->port_ == 0) return Status::Unavailable("no free loopback port for the embedded nats-server");

  IF_RETURN_IF_ERROR(n->SpawnChild());
  // Something answering on the port is not enough: the free port we picked may have been taken in between by
  // another process's nats-server. Ours names itself after its port in its INFO line.
  const std::string own_name = "ironflow-embedded-" + std::to_string(n->port_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  for (;;) {
    if (std::chrono::steady_clock::now() >= deadline) {
      n->Stop();
      return Status::Unavailable("embedded nats-server did not start; see " + n->options_.log_file);
    }
    if (n->ExitedDuringStart()) {
      if (n->options_.port == 0 && attempt < 3) return StartAttempt(std::move(n->options_), attempt + 1);
      return Status::Unavailable("embedded nats-server exited at start (" + LastLine(n->options_.log_file) + "); see " +
                                 n->options_.log_file);
    }
    if (!WaitForTcpPort(n->port_, 100)) continue;
    auto info = ProbeNatsServer("127.0.0.1:" + std::to_string(n->port_), 1000);
    if (!info.ok()) continue;  // still starting
    if (info->server_name == own_name) break;
    n->Stop();
    if (n->options_.port == 0 && attempt < 3) return StartAttempt(std::move(n->options_), attempt + 1);
    return Status::Unavailable("port " + std::to_string(n->port_) + " is taken by another NATS server (" +
                               info->server_name + ")");
  }
  if (n->options_.supervise) n->supervisor_ = std::thread([p = n.get()] { p->SuperviseLoop(); });
  return n;
}

Status EmbeddedNats::SpawnChild() {
  std::string port = std::to_string(port_);
  std::vector<std::string> args = {
      binary_, "-js", "-a", "127.0.0.1", "-p", port, "-sd", options_.store_dir, "-n", "ironflow-embedded-" + port};
  for (const auto& a : options_.extra_args) args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The child gets a minimal environment: nothing of ours (keys, API keys, credentials paths) reaches nats-server,
  // whose /proc/<pid>/environ any process of the same user could read.
  std::vector<std::string> env_strings = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Status::Internal("fork failed for nats-server");
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);  // parent died before prctl took effect
    int fd = open(options_.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(binary_.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  std::lock_guard<std::mutex> lock(mu_);
  pid_ = pid;
  child_running_ = true;
  return Status::Ok();
}

void EmbeddedNats::SuperviseLoop() {
  for (;;) {
    pid_t pid;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pid = pid_;
    }
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    std::unique_lock<std::mutex> lock(mu_);
    child_running_ = false;
    exited_cv_.notify_all();
    if (stopping_) return;
    spdlog::warn("embedded nats-server (pid {}) exited unexpectedly (status {}); restarting on port {}", pid, wstatus,
                 port_);
    lock.unlock();
    // Brief pause so a crash loop does not spin; the restart itself is what clients wait on.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    lock.lock();
    if (stopping_) return;
    lock.unlock();
    if (!SpawnChild().ok()) {
      spdlog::error("could not restart embedded nats-server");
      return;
    }
    restarts_.fetch_add(1);
  }
}

bool EmbeddedNats::ExitedDuringStart() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!child_running_) return true;
  int wstatus = 0;
  if (waitpid(pid_, &wstatus, WNOHANG) != pid_) return false;
  child_running_ = false;
  stopping_ = true;
  return true;
}

pid_t EmbeddedNats::pid() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pid_;
}

void EmbeddedNats::Signal(int sig) {
  std::lock_guard<std::mutex> lock(mu_);
  if (child_running_) kill(pid_, sig);
}

void EmbeddedNats::Stop() {
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_ && !child_running_) {
    lock.unlock();
    if (supervisor_.joinable()) supervisor_.join();
    return;
  }
  stopping_ = true;
  if (child_running_) kill(pid_, SIGTERM);
  if (supervisor_.joinable()) {
    if (!exited_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return !child_running_; })) {
      kill(pid_, SIGKILL);
      exited_cv_.wait(lock, [this] { return !child_running_; });
    }
    lock.unlock();
    supervisor_.join();
  } else if (child_running_) {
    // Not supervised: reap the child here.
    pid_t pid = pid_;
    lock.unlock();
    int wstatus = 0;
    for (int i = 0; i < 500; ++i) {
      if (waitpid(pid, &wstatus, WNOHANG) == pid) break;
      if (i == 499) {
        kill(pid, SIGKILL);
        waitpid(pid, &wstatus, 0);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    lock.lock();
    child_running_ = false;
  }
}

EmbeddedNats::~EmbeddedNats() { Stop(); }

}  // namespace ironflow::server
