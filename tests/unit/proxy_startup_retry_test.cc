// tests/unit/proxy_startup_retry_test.cc — what the proxy does with servers
// that refuse new sessions with 57P03 (starting up, shutting down), over
// real loopback sockets (proxy 127.0.6.40, servers .41-.43) against small
// in-process servers that speak just enough of PostgreSQL's startup: held
// sessions share one pace per server instead of each forking a backend
// every 250 ms, the read-only port stops choosing a refusing replica, a
// client that leaves while held is let go at once, and the pace ends on a
// route change or an accepted session.
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "proxy/pg_wire.h"
#include "proxy/proxy.h"
#include "support/pg_packets.h"
#include "support/proxy_sockets.h"
#include "support/tcp_server.h"
#include "support/wait.h"

using namespace pw::proxy;
using pw::test::be32s;
using pw::test::read_n;
using pw::test::send_all;
using pw::test::startup_packet;
using pw::test::wait_until;

namespace {

constexpr const char* kProxyIp = "127.0.6.40";
constexpr const char* kStartingUp = "the database system is starting up";

/// A server that answers the first `refusals` connections (-1: all) as
/// PostgreSQL does while it starts up: 'N' to an SSLRequest, then, once the
/// startup packet is in, a FATAL 57P03 ErrorResponse and close. Later
/// connections get AuthenticationOk and are then held open.
class FakePg {
 public:
  FakePg(const char* ip, int refusals)
      : refusals_(refusals), server_(ip, [this](int fd, int n) { serve(fd, refusals_ < 0 || n <= refusals_); }) {}
  ~FakePg() { stop_ = true; }
  Backend backend() const { return {server_.host(), server_.port(), 0}; }
  int connections() const { return server_.connections(); }

 private:
  /// Reads one first packet (length-prefixed); false at EOF or timeout.
  static bool read_packet(int fd, std::string* code) {
    std::string head = read_n(fd, 8);
    if (head.size() < 8) return false;
    uint32_t len = wire::be32(reinterpret_cast<const uint8_t*>(head.data()));
    *code = head.substr(4, 4);
    return len <= 8 || read_n(fd, len - 8).size() == len - 8;
  }
  void serve(int fd, bool refuse) {
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string code;
    bool ok = read_packet(fd, &code);
    if (ok && code == be32s(80877103)) {  // SSLRequest
      send_all(fd, "N");
      ok = read_packet(fd, &code);
    }
    if (ok && refuse) {
      send_all(fd, wire::error_response("FATAL", "57P03", kStartingUp));
    } else if (ok) {
      send_all(fd, std::string("R") + be32s(8) + be32s(0));
      pw::test::drain_until_closed(fd, stop_);
    }
    close(fd);
  }

  int refusals_;
  std::atomic<bool> stop_{false};
  pw::test::TcpServer server_;  // last: joined before the rest goes
};

/// A server that greets every connection with 'B' and keeps it open.
class Greeter {
 public:
  explicit Greeter(const char* ip)
      : server_(ip, [this](int fd, int) {
          send_all(fd, "B");
          pw::test::drain_until_closed(fd, stop_);
          close(fd);
        }) {}
  ~Greeter() { stop_ = true; }
  Backend backend() const { return {server_.host(), server_.port(), 0}; }
  int connections() const { return server_.connections(); }

 private:
  std::atomic<bool> stop_{false};
  pw::test::TcpServer server_;  // last: joined before the rest goes
};

Route route(const Backend& primary, uint64_t epoch) {
  Route r;
  r.epoch = epoch;
  r.has_primary = true;
  r.primary = primary;
  r.valid_until_ms = pw::mono_ms() + 3600000;
  return r;
}

ProxyOptions options(int64_t pace_ms, uint16_t ro_port = 0) {
  ProxyOptions o;
  o.listen_address = kProxyIp;
  o.port = 0;
  o.readonly_port = ro_port;
  o.hold_timeout_ms = 20000;
  o.shutdown_grace_ms = 200;
  o.startup_retry_initial_ms = pace_ms;
  o.startup_retry_max_ms = pace_ms;
  return o;
}

int connect_proxy(uint16_t port) {
  int fd = pw::test::tcp_connect(kProxyIp, port);
  REQUIRE(fd >= 0);
  return fd;
}

uint16_t free_port() {
  uint16_t port = 0;
  int fd = pw::test::tcp_listen(kProxyIp, &port);
  REQUIRE(fd >= 0);
  close(fd);
  return port;
}

bool is_57p03(const std::string& e, const char* text) {
  return !e.empty() && e[0] == 'E' && e.find(std::string("C57P03\0", 7)) != std::string::npos &&
         e.find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("sessions held for a refusing server share one pace: no backend per session per retry") {
  // Before: every held session reconnected every 250 ms, each connection a
  // fork on the server. With the pace at an hour, the server sees exactly
  // one connection however many sessions wait, and each client still gets
  // the server's own words at its hold deadline.
  FakePg pg("127.0.6.41", -1);
  auto o = options(3600000);
  o.hold_timeout_ms = 1500;
  auto p = Proxy::start(o);
  p->publish(route(pg.backend(), 1));
  std::vector<int> clients;
  clients.push_back(connect_proxy(p->port()));
  REQUIRE(send_all(clients[0], startup_packet()));
  REQUIRE(wait_until([&] { return p->counters().readwrite.startup_retries == 1; }));
  for (int i = 1; i < 4; ++i) {
    clients.push_back(connect_proxy(p->port()));
    REQUIRE(send_all(clients.back(), startup_packet()));
  }
  REQUIRE(wait_until([&] { return p->counters().readwrite.held_now == 4; }));
  for (int c : clients) {
    std::string e = read_n(c, 300);  // until the proxy closes, at the hold deadline
    INFO(e);
    CHECK(is_57p03(e, kStartingUp));
    close(c);
  }
  CHECK(pg.connections() == 1);
  CHECK(p->counters().readwrite.hold_timeouts == 4);
}

TEST_CASE("the read-only port does not keep choosing a replica that refuses sessions") {
  // Replica .42 answers 57P03, so it never has sessions; least connections
  // alone sent every new session (and every retry) to it, until the hold
  // deadline handed the client its error although .43 was serving.
  FakePg refusing("127.0.6.42", -1);
  Greeter serving("127.0.6.43");
  Greeter primary("127.0.6.44");
  auto o = options(3600000, free_port());
  o.hold_timeout_ms = 3000;
  o.readonly_fallback = false;
  auto p = Proxy::start(o);
  Route r = route(primary.backend(), 1);
  r.replicas = {refusing.backend(), serving.backend()};  // the refusing one listed first: it wins ties
  p->publish(r);
  std::vector<int> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(connect_proxy(p->readonly_port()));
    REQUIRE(send_all(clients.back(), startup_packet()));
    CHECK(read_n(clients.back(), 1) == "B");
  }
  CHECK(refusing.connections() == 1);
  CHECK(serving.connections() == 3);
  CHECK(primary.connections() == 0);
  for (int c : clients) close(c);
}

TEST_CASE("a client that closes while held is let go at once") {
  SECTION("held for want of a route") {
    auto o = options(250);
    o.hold_timeout_ms = 600000;  // before: the session stayed until here
    auto p = Proxy::start(o);
    int c = connect_proxy(p->port());
    REQUIRE(send_all(c, startup_packet()));
    REQUIRE(wait_until([&] { return p->counters().readwrite.held_now == 1; }));
    close(c);
    REQUIRE(wait_until([&] { return p->counters().readwrite.sessions_now == 0; }));
    CHECK(p->counters().readwrite.held_now == 0);
  }
  SECTION("held between retries of a refusing server") {
    FakePg pg("127.0.6.41", -1);
    auto o = options(250);
    o.hold_timeout_ms = 600000;
    auto p = Proxy::start(o);
    p->publish(route(pg.backend(), 1));
    int c = connect_proxy(p->port());
    REQUIRE(send_all(c, startup_packet()));
    REQUIRE(wait_until([&] { return p->counters().readwrite.startup_retries >= 1; }));
    close(c);
    REQUIRE(wait_until([&] { return p->counters().readwrite.sessions_now == 0; }));
    // No session left to try the server: its connection count is final.
    CHECK(p->counters().readwrite.held_now == 0);
  }
}

TEST_CASE("the pace ends when the route changes or the server accepts a session") {
  SECTION("route change") {
    FakePg pg("127.0.6.41", -1);
    auto p = Proxy::start(options(3600000));
    p->publish(route(pg.backend(), 1));
    int c = connect_proxy(p->port());
    REQUIRE(send_all(c, startup_packet()));
    REQUIRE(wait_until([&] { return p->counters().readwrite.startup_retries == 1; }));
    p->publish(route(pg.backend(), 1));  // a renewal keeps the pace
    p->publish(route(pg.backend(), 2));  // a new epoch: a fresh chance at once
    REQUIRE(wait_until([&] { return pg.connections() == 2; }));
    close(c);
  }
  SECTION("accepted session") {
    FakePg pg("127.0.6.41", 1);  // refuses the first connection only
    auto p = Proxy::start(options(200));
    p->publish(route(pg.backend(), 1));
    int c1 = connect_proxy(p->port());
    REQUIRE(send_all(c1, startup_packet()));
    REQUIRE(read_n(c1, 9) == std::string("R") + be32s(8) + be32s(0));  // the probe got in
    REQUIRE(p->counters().readwrite.startup_retries == 1);
    uint64_t held = p->counters().readwrite.held_total;
    // The server accepts again: the next session goes straight through.
    int c2 = connect_proxy(p->port());
    REQUIRE(send_all(c2, startup_packet()));
    REQUIRE(read_n(c2, 9) == std::string("R") + be32s(8) + be32s(0));
    CHECK(p->counters().readwrite.held_total == held);
    CHECK(pg.connections() == 3);  // c1 refused, c1's retry, c2
    close(c1);
    close(c2);
  }
}
