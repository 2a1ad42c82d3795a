// `ironflow serve` under systemd's Type=notify, with this test standing in for the service manager: it binds its
// own $NOTIFY_SOCKET (PID 1 here is not systemd) and reads what the server tells it.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/nats_fixture.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace ironflow::server::testing {
namespace {

// A bound Unix datagram socket: the manager's end of the sd_notify protocol.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool bound() const { return bound_; }
  // The next datagram, or "" if none arrives within `timeout_ms`.
  std::string Next(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return "";
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

TEST(SystemdServiceTest, ReadyIsNotifiedOnceReadyzAnswers200AndStoppingOnSigterm) {
  NatsFixture nats;
  TempDir dir;
  NotifySocket manager(dir.path() + "/notify");
  ASSERT_TRUE(manager.bound());
  ServerProcess::Options o{nats.url(), dir.path() + "/data", NewMasterKey()};
  o.extra_env = {{"NOTIFY_SOCKET", dir.path() + "/notify"}};
  ServerProcess server(o);
  server.Launch();  // nothing probes /readyz before the server says it is ready
  const std::string ready = manager.Next(20000);
  ASSERT_NE(ready.find("READY=1"), std::string::npos) << "no READY=1 in 20 s; got \"" << ready << "\"\n"
                                                      << server.log();
  // The moment systemd would consider the unit started, it serves.
  ApiClient probe(server.url(), "");
  EXPECT_EQ(probe.Call("GET", "/readyz").status, 200) << "READY=1 was sent before /readyz answered 200";
  EXPECT_EQ(manager.Next(0), "") << "more than one notification while running";
  EXPECT_EQ(server.Stop(), 0);
  EXPECT_NE(manager.Next(5000).find("STOPPING=1"), std::string::npos) << "no STOPPING=1 on SIGTERM";
}

TEST(SystemdServiceTest, UnreachableNotifySocketIsLoggedAndTheServerKeepsServing) {
  // A manager that went away (or a wrong NOTIFY_SOCKET) must not take the service down with it.
  NatsFixture nats;
  TempDir dir;
  ServerProcess::Options o{nats.url(), dir.path() + "/data", NewMasterKey()};
  o.extra_env = {{"NOTIFY_SOCKET", dir.path() + "/no-such-socket"}};
  ServerProcess server(o);
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  ApiClient probe(server.url(), "");
  // The notification goes out once the server is ready, on its own thread: wait (bounded) for its warning.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server.log().find("cannot notify") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(server.log().find("cannot notify"), std::string::npos) << server.log();
  EXPECT_EQ(probe.Call("GET", "/readyz").status, 200) << "the failed notification stopped the server";
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace ironflow::server::testing
