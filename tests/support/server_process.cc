#include "support/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "store/embedded_nats.h"

namespace ironflow::server::testing {
namespace {

std::vector<std::string> BaseEnv(const Env& extra) {
  Env env;
  const char* path = std::getenv("PATH");
  env["PATH"] = path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  const char* home = std::getenv("HOME");
  env["HOME"] = home ? home : "/tmp";
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

// Output files are appended to, so one log accumulates across restarts of a server.
pid_t Spawn(const std::vector<std::string>& args, const Env& env, const std::string& stdin_path,
            const std::string& out_path, const std::string& err_path) {
  std::vector<std::string> envs = BaseEnv(env);
  pid_t pid = fork();
  if (pid != 0) return pid;
  int in = open(stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY);
  int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  int err = err_path == out_path ? out : open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  std::vector<char*> argv;
  std::string bin = IRONFLOW_BINARY;
  argv.push_back(bin.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  execve(bin.c_str(), argv.data(), envp.data());
  _exit(127);
}

// A waitpid status as one number: the exit code, or minus the signal that ended the process.
int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status); }

int WaitExit(pid_t pid, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -9;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return ExitCode(status);
}

}  // namespace

ProcessResult RunIronflow(const std::vector<std::string>& args, const Env& env, const std::string& stdin_data) {
  TempDir dir;
  std::string in = dir.path() + "/stdin", out = dir.path() + "/stdout", err = dir.path() + "/stderr";
  {
    int fd = open(in.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (!stdin_data.empty()) (void)!write(fd, stdin_data.data(), stdin_data.size());
    close(fd);
  }
  ProcessResult r;
  pid_t pid = Spawn(args, env, in, out, err);
  r.exit_code = WaitExit(pid, 60000);
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

std::string NewMasterKey() { return RandomHex(32); }

ServerProcess::ServerProcess(Options o) : options_(std::move(o)) { log_path_ = options_.data_dir + "/server.log"; }

ServerProcess::~ServerProcess() { Stop(); }

std::string ServerProcess::api_key() const {
  std::string k = ReadFile(options_.data_dir + "/bootstrap_key");
  while (!k.empty() && (k.back() == '\n' || k.back() == '\r')) k.pop_back();
  return k;
}

static std::vector<std::string> ServeArgs(const ServerProcess::Options& o, int port) {
  std::vector<std::string> args = {"serve", "--host", o.host, "--port", std::to_string(port), "--data-dir", o.data_dir};
  if (!o.nats_url.empty()) {
    args.push_back("--nats-url");
    args.push_back(o.nats_url);
  }
  if (o.dev_auth) args.push_back("--dev");
  if (!o.tls_cert.empty()) {
    for (const std::string& a : {std::string("--tls-cert"), o.tls_cert, std::string("--tls-key"), o.tls_key}) {
      args.push_back(a);
    }
  }
  for (const auto& a : o.extra_args) args.push_back(a);
  return args;
}

static Env ServeEnv(const ServerProcess::Options& o) {
  Env env;
  if (!o.master_key.empty()) env["IRONFLOW_MASTER_KEY"] = o.master_key;
  if (!o.previous_master_key.empty()) env["IRONFLOW_MASTER_KEY_PREVIOUS"] = o.previous_master_key;
  for (const auto& [k, v] : o.extra_env) env[k] = v;
  return env;
}

bool ServerProcess::Start(std::string* error) {
  // A free port picked here can be taken before the server binds it (e.g. by an embedded nats-server of another
  // test choosing its own free port): that start is retried on another port.
  for (int tries = 0;; ++tries) {
    const size_t log_offset = log().size();
    if (StartOnce(error)) return true;
    const std::string this_start = log().substr(std::min(log_offset, log().size()));
    const bool port_taken = this_start.find("cannot listen on " + options_.host + ":" + std::to_string(port_) +
                                            ": Address already in use") != std::string::npos;
    if (!port_taken || tries == 2) return false;
  }
}

bool ServerProcess::StartOnce(std::string* error) {
  Launch();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto client = HttpClient::Create(url(), options_.ca_file);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Exited()) {
      *error = "server exited during start:\n" + log();
      return false;
    }
    auto r = (*client)->Send("GET", "/readyz", {});
    if (r.ok() && r->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *error = "server not ready in 20 s:\n" + log();
  Stop();
  return false;
}

void ServerProcess::Launch() {
  port_ = PickFreeLoopbackPort();
  std::filesystem::create_directories(options_.data_dir);
  pid_ = Spawn(ServeArgs(options_, port_), ServeEnv(options_), "", log_path_, log_path_);
}

int ServerProcess::RunUntilExit(int timeout_ms) {
  Launch();
  const pid_t pid = pid_;
  pid_ = -1;  // waited for here: Stop() and the destructor leave it alone
  return WaitExit(pid, timeout_ms);
}

bool ServerProcess::Exited() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
  pid_ = -1;
  exit_code_ = ExitCode(status);
  return true;
}

std::string ServerProcess::how_it_ended() const {
  return exit_code_ < 0 ? "killed by signal " + std::to_string(-exit_code_) : "exit code " + std::to_string(exit_code_);
}

int ServerProcess::Stop() {
  if (pid_ <= 0) return 0;
  kill(pid_, SIGTERM);
  int code = WaitExit(pid_, 10000);
  pid_ = -1;
  return code;
}

std::string ApiClient::Response::header(const std::string& lower) const {
  for (const auto& [k, v] : headers) {
    if (k == lower) return v;
  }
  return "";
}

ApiClient::ApiClient(const std::string& base_url, std::string api_key, std::string environment,
                     const std::string& ca_file)
    : api_key_(std::move(api_key)), environment_(std::move(environment)) {
  http_ = std::move(HttpClient::Create(base_url, ca_file).value());
}

ApiClient::Response ApiClient::Call(const std::string& method, const std::string& target, const std::string& body,
                                    const HeaderList& extra) {
  HeaderList h;
  if (!api_key_.empty()) h.emplace_back("Authorization", "Bearer " + api_key_);
  if (!environment_.empty()) h.emplace_back("X-Ironflow-Environment", environment_);
  if (!body.empty()) h.emplace_back("Content-Type", "application/json");
  for (const auto& e : extra) h.push_back(e);
  Response out;
  auto r = http_->Send(method, target, h, body);
  if (!r.ok()) {
    out.status = -1;
    out.raw = r.status().message();
    return out;
  }
  out.status = r->status;
  out.raw = r->body;
  out.headers = r->headers;
  out.body = nlohmann::json::parse(r->body, nullptr, false);
  if (out.body.is_discarded()) out.body = nullptr;
  return out;
}

ApiClient::Response ApiClient::Call(const std::string& method, const std::string& target, const nlohmann::json& body,
                                    const HeaderList& extra) {
  return Call(method, target, body.dump(), extra);
}

}  // namespace ironflow::server::testing
