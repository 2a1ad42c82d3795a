#include "store/nats_server_info.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/bounded_json.h"

namespace ironflow::server {
namespace {

constexpr size_t kMaxInfoLine = 64 * 1024;  // nats-server's own limit on a control line is 4 KiB; INFO can grow

// Numeric fields of "2.10.20-RC.1" -> {2,10,20}, pre_release = true.
struct VersionParts {
  std::vector<long> numbers;
  bool pre_release = false;
};

VersionParts SplitVersion(std::string_view v) {
  VersionParts out;
  if (!v.empty() && (v[0] == 'v' || v[0] == 'V')) v.remove_prefix(1);
  long current = 0;
  bool in_number = false;
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (c >= '0' && c <= '9') {
      current = current * 10 + (c - '0');
      in_number = true;
    } else if (c == '.') {
      out.numbers.push_back(current);
      current = 0;
      in_number = false;
    } else {
      out.pre_release = (c == '-');  // "-RC.1", "-beta"; anything else ends the version too
      break;
    }
  }
  if (in_number) out.numbers.push_back(current);
  return out;
}

}  // namespace

int CompareNatsVersions(std::string_view a, std::string_view b) {
  VersionParts x = SplitVersion(a), y = SplitVersion(b);
  const size_t n = std::max(x.numbers.size(), y.numbers.size());
  for (size_t i = 0; i < n; ++i) {
    const long p = i < x.numbers.size() ? x.numbers[i] : 0;
    const long q = i < y.numbers.size() ? y.numbers[i] : 0;
    if (p != q) return p < q ? -1 : 1;
  }
  if (x.pre_release != y.pre_release) return x.pre_release ? -1 : 1;
  return 0;
}

std::string NatsUrlHostPort(std::string_view url) {
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  if (auto at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
  if (auto slash = url.find('/'); slash != std::string_view::npos) url = url.substr(0, slash);
  std::string out(url);
  const bool bracketed = !out.empty() && out[0] == '[';
  const auto colon = out.rfind(':');
  const bool has_port = colon != std::string::npos && (!bracketed || colon > out.find(']'));
  if (!has_port) out += ":4222";
  return out;
}

Result<NatsServerInfo> ParseNatsInfoLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.size() < 5 || (line.substr(0, 5) != "INFO " && line.substr(0, 5) != "INFO\t")) {
    return Status::InvalidArgument("not a NATS INFO line");
  }
  bool too_deep = false;
  const nlohmann::json parsed = ParseBoundedJson(line.substr(5), &too_deep, 16);
  if (parsed.is_discarded() || !parsed.is_object()) return Status::InvalidArgument("malformed NATS INFO line");
  const nlohmann::json* doc = &parsed;
  NatsServerInfo info;
  auto text = [&](const char* field) {
    auto it = doc->find(field);
    return it != doc->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  info.server_id = text("server_id");
  info.server_name = text("server_name");
  info.version = text("version");
  if (auto it = doc->find("connect_urls"); it != doc->end() && it->is_array()) {
    for (const auto& u : *it) {
      if (u.is_string()) info.connect_urls.push_back(u.get<std::string>());
    }
  }
  if (info.version.empty()) return Status::InvalidArgument("NATS INFO line without a version");
  return info;
}

Result<NatsServerInfo> ProbeNatsServer(const std::string& address, int timeout_ms) {
  const std::string host_port = NatsUrlHostPort(address);
  const auto colon = host_port.rfind(':');
  std::string host = host_port.substr(0, colon);
  const std::string port = host_port.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto remaining_ms = [&] {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
  };

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Status::Unavailable("cannot resolve NATS server " + host_port + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> addresses(found, ::freeaddrinfo);
  std::string last_error = "no address";
  for (addrinfo* ai = addresses.get(); ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms()) != 1) {
      last_error = "connect timed out";
      continue;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      last_error = std::strerror(err);
      continue;
    }
    std::string line;
    char buf[4096];
    while (line.find('\n') == std::string::npos && line.size() < kMaxInfoLine) {
      p = {fd, POLLIN, 0};
      if (::poll(&p, 1, remaining_ms()) != 1) break;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    const auto end = line.find('\n');
    if (end == std::string::npos) {
      last_error = "no INFO line within " + std::to_string(timeout_ms) + " ms";
      continue;
    }
    auto info = ParseNatsInfoLine(std::string_view(line).substr(0, end));
    if (!info.ok()) return Status::Unavailable(host_port + ": " + info.status().message());
    info->address = host_port;
    return info;
  }
  return Status::Unavailable("cannot read the INFO of NATS server " + host_port + ": " + last_error);
}

}  // namespace ironflow::server
