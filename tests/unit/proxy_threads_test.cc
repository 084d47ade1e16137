// tests/unit/proxy_threads_test.cc — `threads = 0` (the daemon's default):
// one proxy thread per usable CPU, each with its own SO_REUSEPORT listener,
// over real loopback sockets (127.0.6.34-35). Every connection is served
// whichever thread the kernel hands it to, and one connection keeps one
// thread (bytes stay in order both ways).
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "proxy/proxy.h"
#include "support/proxy_sockets.h"
#include "support/wait.h"

using namespace pw::proxy;
using pw::test::read_n;
using pw::test::send_all;
using pw::test::tcp_connect;
using pw::test::tcp_listen;
using pw::test::wait_until;

namespace {

/// An echo backend, one thread per connection.
class Echo {
 public:
  explicit Echo(const char* ip) : host_(ip) {
    lfd_ = tcp_listen(ip, &port_);
    REQUIRE(lfd_ >= 0);
    thread_ = std::thread([this] {
      for (;;) {
        int fd = accept(lfd_, nullptr, nullptr);
        if (fd < 0) return;
        conns_.emplace_back([fd] {
          char buf[4096];
          for (;;) {
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r <= 0 || send(fd, buf, static_cast<size_t>(r), MSG_NOSIGNAL) != r) break;
          }
          close(fd);
        });
      }
    });
  }
  ~Echo() {
    shutdown(lfd_, SHUT_RDWR);
    close(lfd_);
    thread_.join();
    for (auto& t : conns_) t.join();
  }
  Backend backend() const { return {host_, port_, 0}; }

 private:
  std::string host_;
  uint16_t port_ = 0;
  int lfd_ = -1;
  std::thread thread_;
  std::vector<std::thread> conns_;
};

}  // namespace

TEST_CASE("threads = 0 runs one proxy thread per usable CPU and serves every connection") {
  Echo echo("127.0.6.35");
  ProxyOptions o;
  o.listen_address = "127.0.6.34";
  o.port = 0;
  o.threads = 0;
  o.thread_nice = 0;
  o.shutdown_grace_ms = 200;
  auto p = Proxy::start(o);
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
  REQUIRE(p->threads() == static_cast<uint32_t>(CPU_COUNT(&set)));
  Route r;
  r.epoch = 1;
  r.has_primary = true;
  r.primary = echo.backend();
  r.valid_until_ms = pw::mono_ms() + 3600000;
  p->publish(r);
  std::vector<int> fds;
  for (int i = 0; i < 32; ++i) {
    int c = tcp_connect("127.0.6.34", p->port());
    REQUIRE(c >= 0);
    fds.push_back(c);
  }
  // Interleaved round trips on every connection: each answer is its own.
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < fds.size(); ++i) REQUIRE(send_all(fds[i], "q" + std::to_string(i) + ";"));
    for (size_t i = 0; i < fds.size(); ++i) {
      std::string want = "q" + std::to_string(i) + ";";
      REQUIRE(read_n(fds[i], want.size()) == want);
    }
  }
  Counters k = p->counters();
  REQUIRE(k.readwrite.sessions_now == fds.size());
  REQUIRE(k.backends.at(0).sessions_now == fds.size());
  for (int c : fds) close(c);
  REQUIRE(wait_until([&] { return p->counters().readwrite.sessions_now == 0; }));
}
