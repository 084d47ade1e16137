// tests/unit/proxy_session_test.cc — the proxy's event-loop behaviour over
// real loopback sockets (127.0.6.1-4) against small in-process TCP backends:
// forwarding, hold and release, 57P03/53300 refusals in PostgreSQL's
// protocol, epoch change, I3 pause/resume, read-only cancel fan-out,
// backpressure and graceful shutdown. PostgreSQL itself is exercised by
// tests/integration/proxy_pg_test.cc.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "proxy/proxy.h"
#include "support/pg_packets.h"
#include "support/proxy_sockets.h"
#include "support/tcp_server.h"
#include "support/wait.h"

using namespace pw::proxy;

namespace {

using pw::test::read_n;
using pw::test::send_all;
using pw::test::ssl_request;
using pw::test::startup_packet;
using pw::test::wait_until;

// The shared helpers (tests/support/proxy_sockets.h), failing the test
// instead of returning -1.
int tcp_listen(const char* ip, uint16_t* port) {
  int fd = pw::test::tcp_listen(ip, port);
  REQUIRE(fd >= 0);
  return fd;
}

int tcp_connect(const char* ip, uint16_t port) {
  int fd = pw::test::tcp_connect(ip, port);
  REQUIRE(fd >= 0);
  return fd;
}

/// A TCP backend: greets every connection with its one-letter name, then
/// echoes (or, in flood mode, sends as fast as the peer takes). Records what
/// it received.
class Backend_ {
 public:
  Backend_(const char* ip, char name, bool flood = false)
      : name_(name), flood_(flood), server_(ip, [this](int fd, int) { serve(fd); }) {}
  ~Backend_() { stop_ = true; }
  Backend backend() const { return {server_.host(), server_.port(), 0}; }
  std::string received() {
    std::lock_guard<std::mutex> lk(mu_);
    return received_;
  }
  int connections() const { return server_.connections(); }
  uint64_t flood_sent() const { return flood_sent_; }
  bool flood_blocked() const { return flood_blocked_; }

 private:
  void serve(int fd) {
    send(fd, &name_, 1, MSG_NOSIGNAL);
    if (flood_) {
      // Wait for one byte, then send until the proxy stops taking data.
      char c;
      if (recv(fd, &c, 1, 0) == 1) {
        timeval tv{2, 0};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        std::vector<char> chunk(65536, 'x');
        while (!stop_) {
          ssize_t w = send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
          if (w <= 0) {
            flood_blocked_ = true;
            break;
          }
          flood_sent_ += static_cast<uint64_t>(w);
        }
      }
      close(fd);
      return;
    }
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    while (!stop_) {
      ssize_t r = recv(fd, buf, sizeof buf, 0);
      if (r == 0) break;
      if (r < 0) {
        if (errno == EAGAIN) continue;
        break;
      }
      {
        std::lock_guard<std::mutex> lk(mu_);
        received_.append(buf, static_cast<size_t>(r));
      }
      send(fd, buf, static_cast<size_t>(r), MSG_NOSIGNAL);
    }
    close(fd);
  }

  char name_;
  bool flood_;
  std::mutex mu_;
  std::string received_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> flood_sent_{0};
  std::atomic<bool> flood_blocked_{false};
  pw::test::TcpServer server_;  // last: joined before the rest goes
};

Route route_to(const Backend_& b, uint64_t epoch, int64_t valid_for_ms = 3600000) {
  Route r;
  r.epoch = epoch;
  r.has_primary = true;
  r.primary = b.backend();
  r.valid_until_ms = pw::mono_ms() + valid_for_ms;
  return r;
}

ProxyOptions opts(uint16_t ro_port = 0) {
  ProxyOptions o;
  o.listen_address = "127.0.6.1";
  o.port = 0;
  o.readonly_port = ro_port;
  o.hold_timeout_ms = 20000;
  o.shutdown_grace_ms = 200;
  return o;
}


}  // namespace

TEST_CASE("forwards both ways to the primary and counts") {
  Backend_ a("127.0.6.2", 'A');
  auto p = Proxy::start(opts());
  p->publish(route_to(a, 1));
  int c = tcp_connect("127.0.6.1", p->port());
  REQUIRE(read_n(c, 1) == "A");
  REQUIRE(send_all(c, "hello"));
  REQUIRE(read_n(c, 5) == "hello");
  Counters k = p->counters();
  REQUIRE(k.readwrite.sessions_now == 1);
  REQUIRE(k.readwrite.bytes_client_to_server == 5);
  REQUIRE(k.readwrite.bytes_server_to_client == 6);
  REQUIRE(k.readwrite.backend_connect_total == 1);
  REQUIRE(k.backends.size() == 1);
  REQUIRE(k.backends[0].sessions_now == 1);
  close(c);
  REQUIRE(wait_until([&] { return p->counters().readwrite.sessions_now == 0; }));
  REQUIRE(p->counters().backends[0].sessions_now == 0);
}

TEST_CASE("a connection opened with no route is held and released when one appears") {
  Backend_ a("127.0.6.2", 'A');
  auto p = Proxy::start(opts());
  int c = tcp_connect("127.0.6.1", p->port());
  REQUIRE(send_all(c, "early"));  // stays in the kernel until routed
  REQUIRE(wait_until([&] { return p->counters().readwrite.held_now == 1; }));
  REQUIRE(a.connections() == 0);
  p->publish(route_to(a, 1));
  REQUIRE(read_n(c, 6) == "Aearly");
  REQUIRE(p->counters().readwrite.held_now == 0);
  REQUIRE(p->counters().readwrite.held_total == 1);
  close(c);
}

TEST_CASE("hold timeout answers N to SSLRequest then a 57P03 ErrorResponse") {
  auto o = opts();
  o.hold_timeout_ms = 300;
  auto p = Proxy::start(o);
  Route r;
  r.unavailable_reason = "no primary available (failover in progress)";
  p->publish(r);
  int c = tcp_connect("127.0.6.1", p->port());
  REQUIRE(send_all(c, ssl_request()));
  REQUIRE(read_n(c, 1) == "N");
  REQUIRE(send_all(c, startup_packet()));
  std::string e = read_n(c, 200);  // until the proxy closes
  REQUIRE(!e.empty());
  REQUIRE(e[0] == 'E');
  REQUIRE(e.find(std::string("C57P03\0", 7)) != std::string::npos);
  REQUIRE(e.find("pgwarden: no primary available (failover in progress)") != std::string::npos);
  REQUIRE(p->counters().readwrite.hold_timeouts == 1);
  close(c);
}

TEST_CASE("over max_client_connections the client gets 53300") {
  Backend_ a("127.0.6.2", 'A');
  auto o = opts();
  o.max_client_connections = 1;
  auto p = Proxy::start(o);
  p->publish(route_to(a, 1));
  int c1 = tcp_connect("127.0.6.1", p->port());
  REQUIRE(read_n(c1, 1) == "A");
  int c2 = tcp_connect("127.0.6.1", p->port());
  REQUIRE(send_all(c2, startup_packet()));
  std::string e = read_n(c2, 200);
  REQUIRE(e.find(std::string("C53300\0", 7)) != std::string::npos);
  REQUIRE(e.find("too many connections") != std::string::npos);
  REQUIRE(p->counters().readwrite.refused == 1);
  close(c2);
  close(c1);
  REQUIRE(wait_until([&] { return p->counters().readwrite.sessions_now == 0; }));
  int c3 = tcp_connect("127.0.6.1", p->port());  // the slot is free again
  REQUIRE(read_n(c3, 1) == "A");
  close(c3);
}

TEST_CASE("a refused backend connect is retried within hold_timeout, then reported") {
  Backend_ a("127.0.6.2", 'A');
  uint16_t dead_port = 0;
  close(tcp_listen("127.0.6.3", &dead_port));  // nothing listens there any more
  auto o = opts();
  o.hold_timeout_ms = 20000;
  auto p = Proxy::start(o);
  Route dead;
  dead.epoch = 1;
  dead.has_primary = true;
  dead.primary = {"127.0.6.3", dead_port, 0};
  dead.valid_until_ms = pw::mono_ms() + 3600000;
  p->publish(dead);
  int c = tcp_connect("127.0.6.1", p->port());
  REQUIRE(wait_until([&] { return p->counters().readwrite.backend_connect_errors >= 2; }));  // retrying
  p->publish(route_to(a, 2));
  REQUIRE(read_n(c, 1) == "A");
  close(c);
  // With a short hold, the client learns why.
  p.reset();
  o.hold_timeout_ms = 600;
  p = Proxy::start(o);
  p->publish(dead);
  int d = tcp_connect("127.0.6.1", p->port());
  REQUIRE(send_all(d, startup_packet()));
  std::string e = read_n(d, 300);
  REQUIRE(e.find(std::string("C57P03\0", 7)) != std::string::npos);
  REQUIRE(e.find("pgwarden: could not connect to server 127.0.6.3:" + std::to_string(dead_port)) != std::string::npos);
  close(d);
}

TEST_CASE("a new epoch closes old sessions; new ones reach the new primary") {
  Backend_ a("127.0.6.2", 'A');
  Backend_ b("127.0.6.3", 'B');
  auto p = Proxy::start(opts());
  p->publish(route_to(a, 1));
  int c1 = tcp_connect("127.0.6.1", p->port());
  REQUIRE(read_n(c1, 1) == "A");
  p->publish(route_to(b, 2));
  char x;
  REQUIRE(recv(c1, &x, 1, 0) == 0);  // closed by the proxy
  REQUIRE(p->counters().readwrite.closed_epoch_change == 1);
  int c2 = tcp_connect("127.0.6.1", p->port());
  REQUIRE(read_n(c2, 1) == "B");
  close(c1);
  close(c2);
}

TEST_CASE("a stale route pauses client bytes; the same epoch renewed resumes") {
  Backend_ a("127.0.6.2", 'A');
  auto p = Proxy::start(opts());
  Route r = route_to(a, 5, 400);
  p->publish(r);
  int c = tcp_connect("127.0.6.1", p->port());
  REQUIRE(read_n(c, 1) == "A");
  REQUIRE(send_all(c, "1"));
  REQUIRE(read_n(c, 1) == "1");
  REQUIRE(wait_until([&] { return pw::mono_ms() > r.valid_until_ms; }));
  REQUIRE(send_all(c, "2"));
  REQUIRE(wait_until([&] { return p->counters().readwrite.paused_now == 1; }));
  REQUIRE(a.received() == "1");  // not a byte forwarded on the stale route
  p->publish(route_to(a, 5));
  REQUIRE(read_n(c, 1) == "2");
  REQUIRE(p->counters().readwrite.paused_now == 0);
  REQUIRE(p->counters().readwrite.paused_total == 1);
  close(c);
}

TEST_CASE("read-only port: least connections, and CancelRequest reaches every candidate") {
  Backend_ a("127.0.6.2", 'A');
  Backend_ b("127.0.6.3", 'B');
  Backend_ c("127.0.6.4", 'C');
  // A free port for the read-only listener (0 would mean "none").
  uint16_t ro_port = 0;
  int probe = tcp_listen("127.0.6.1", &ro_port);
  close(probe);
  auto o = opts(ro_port);
  auto p = Proxy::start(o);
  Route r = route_to(a, 1);
  r.replicas = {b.backend(), c.backend()};
  p->publish(r);
  int s1 = tcp_connect("127.0.6.1", p->readonly_port());
  REQUIRE(send_all(s1, startup_packet()));
  std::string g1 = read_n(s1, 1);
  int s2 = tcp_connect("127.0.6.1", p->readonly_port());
  REQUIRE(send_all(s2, startup_packet()));
  std::string g2 = read_n(s2, 1);
  REQUIRE(((g1 == "B" && g2 == "C") || (g1 == "C" && g2 == "B")));  // spread, never the primary
  // The startup bytes read to look for a CancelRequest were forwarded intact.
  REQUIRE(read_n(s1, startup_packet().size()) == startup_packet());
  std::string cancel = pw::test::cancel_request(4242, 0xdeadbeef);
  int k = tcp_connect("127.0.6.1", p->readonly_port());
  REQUIRE(send_all(k, cancel));
  for (Backend_* be : {&a, &b, &c})
    REQUIRE(wait_until([&] { return be->received().find(cancel) != std::string::npos; }));
  REQUIRE(p->counters().readonly.cancel_requests == 1);
  close(k);
  close(s1);
  close(s2);
}

TEST_CASE("backpressure: a client that stops reading bounds what the proxy takes") {
  Backend_ f("127.0.6.2", 'F', true);
  auto p = Proxy::start(opts());
  p->publish(route_to(f, 1));
  int c = tcp_connect("127.0.6.1", p->port());
  int small = 4096;
  setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  REQUIRE(send_all(c, "go"));
  REQUIRE(wait_until([&] { return f.flood_blocked(); }, 60000));
  // Socket buffers on three hops plus at most one io_chunk inside the proxy.
  REQUIRE(f.flood_sent() < 48ull << 20);
  Counters k = p->counters();
  REQUIRE(k.readwrite.bytes_server_to_client <= f.flood_sent() + 1);
  close(c);
}

TEST_CASE("shutdown closes listeners, then sessions after the grace period") {
  Backend_ a("127.0.6.2", 'A');
  auto p = Proxy::start(opts());
  p->publish(route_to(a, 1));
  uint16_t port = p->port();
  int c = tcp_connect("127.0.6.1", port);
  REQUIRE(read_n(c, 1) == "A");
  p->shutdown();
  char x;
  REQUIRE(recv(c, &x, 1, 0) == 0);
  close(c);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.6.1", &addr.sin_addr);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0);
  close(fd);
  p->shutdown();  // idempotent
}

TEST_CASE("listener bind failure names the address") {
  auto p = Proxy::start(opts());
  auto o = opts();
  o.port = p->port();
  REQUIRE_THROWS_WITH(Proxy::start(o), Catch::Contains("127.0.6.1:" + std::to_string(p->port())));
}

TEST_CASE("several proxy threads share the port (SO_REUSEPORT) and the counters add up") {
  Backend_ a("127.0.6.2", 'A');
  auto o = opts();
  o.threads = 2;
  auto p = Proxy::start(o);
  p->publish(route_to(a, 1));
  std::vector<int> fds;
  for (int i = 0; i < 20; ++i) {
    int c = tcp_connect("127.0.6.1", p->port());
    REQUIRE(read_n(c, 1) == "A");
    fds.push_back(c);
  }
  Counters k = p->counters();
  REQUIRE(k.readwrite.sessions_now == 20);
  REQUIRE(k.backends.at(0).sessions_now == 20);
  for (int c : fds) close(c);
  REQUIRE(wait_until([&] { return p->counters().readwrite.sessions_now == 0; }));
  // Another process (or Proxy) cannot silently share the port.
  auto o2 = opts();
  o2.port = p->port();
  o2.threads = 2;
  REQUIRE_THROWS(Proxy::start(o2));
}

TEST_CASE("I3: a proxy resumed from SIGSTOP after its route expired forwards nothing") {
  Backend_ a("127.0.6.2", 'A');
  Route r = route_to(a, 9, 3000);
  int ports[2], logs[2];
  REQUIRE(pipe(ports) == 0);
  REQUIRE(pipe(logs) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // the proxy process: only this thread exists here
    close(ports[0]);
    close(logs[0]);
    pw::log_set_fd(logs[1]);  // the parent watches for the pause line
    auto p = Proxy::start(opts());
    p->publish(r);
    uint16_t port = p->port();
    (void)!write(ports[1], &port, sizeof port);
    for (;;) pause();
  }
  struct Reaper {  // never leave the child behind, even when a REQUIRE fails
    pid_t pid;
    ~Reaper() {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  } reaper{child};
  close(ports[1]);
  close(logs[1]);
  uint16_t port = 0;
  REQUIRE(read(ports[0], &port, sizeof port) == sizeof port);
  close(ports[0]);
  int c = tcp_connect("127.0.6.1", port);
  REQUIRE(read_n(c, 1) == "A");
  REQUIRE(send_all(c, "1"));
  REQUIRE(read_n(c, 1) == "1");
  REQUIRE(kill(child, SIGSTOP) == 0);
  int st = 0;
  REQUIRE(waitpid(child, &st, WUNTRACED) == child);  // really stopped (kill is asynchronous)
  REQUIRE(WIFSTOPPED(st));
  REQUIRE(send_all(c, "2"));  // waits in the stopped proxy's socket buffer
  REQUIRE(wait_until([&] { return pw::mono_ms() > r.valid_until_ms + 100; }));
  REQUIRE(kill(child, SIGCONT) == 0);
  // The resumed proxy must notice the expired route before reading "2".
  std::string log;
  char buf[512];
  while (log.find("pausing sessions") == std::string::npos) {
    pollfd pfd{logs[0], POLLIN, 0};
    int pr = poll(&pfd, 1, 30000);  // generous deadline, not a timing assertion
    if (pr <= 0) {
      log += "[poll " + std::to_string(pr) + " " + strerror(errno) + "]";
      break;
    }
    ssize_t n = read(logs[0], buf, sizeof buf);
    if (n <= 0) {
      log += "[read " + std::to_string(n) + "]";
      break;
    }
    log.append(buf, static_cast<size_t>(n));
  }
  close(logs[0]);
  INFO(log);
  REQUIRE(log.find("pausing sessions thread=0 epoch=9 reason=\"route stale\"") != std::string::npos);
  REQUIRE(a.received() == "1");
  close(c);
}
