// tests/unit/proxy_pause_test.cc — what a proxy does with sessions it cannot
// forward for (DESIGN I3), over real loopback sockets (127.0.6.30-33 and
// 127.0.0.1): client bytes already queued toward the server stay queued once
// the route is stale; a pause longer than pause_timeout ends the session (a
// 57P03 answer when nothing reached the server yet); backend host names are
// resolved once at start and never looked up when a route is published.
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "proxy/proxy.h"
#include "support/pg_packets.h"
#include "support/proxy_sockets.h"
#include "support/wait.h"

using namespace pw::proxy;
using pw::test::read_n;
using pw::test::send_all;
using pw::test::startup_packet;
using pw::test::tcp_connect;
using pw::test::tcp_listen;
using pw::test::wait_until;

namespace {

/// A backend that never sends. It accepts one connection and reads nothing
/// until go() — with a small receive window, so the proxy's writes toward it
/// block and queue — then counts every byte until EOF.
class Sink {
 public:
  explicit Sink(const char* ip) : host_(ip) {
    lfd_ = tcp_listen(ip, &port_, 4096);
    REQUIRE(lfd_ >= 0);
    thread_ = std::thread([this] { run(); });
  }
  ~Sink() {
    go();
    shutdown(lfd_, SHUT_RDWR);
    close(lfd_);
    thread_.join();
  }
  Backend backend() const { return {host_, port_, 0}; }
  void go() { go_ = true; }
  bool done() const { return done_; }
  uint64_t received() const { return received_; }
  bool connected() const { return connected_; }

 private:
  void run() {
    int fd = accept(lfd_, nullptr, nullptr);
    if (fd < 0) {
      done_ = true;
      return;
    }
    connected_ = true;
    while (!go_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    timeval tv{20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::vector<char> buf(65536);
    for (;;) {
      ssize_t r = recv(fd, buf.data(), buf.size(), 0);
      if (r <= 0) break;
      received_ += static_cast<uint64_t>(r);
    }
    close(fd);
    done_ = true;
  }

  std::string host_;
  uint16_t port_ = 0;
  int lfd_ = -1;
  std::thread thread_;
  std::atomic<bool> go_{false}, done_{false}, connected_{false};
  std::atomic<uint64_t> received_{0};
};

Route route_to(const Backend& b, uint64_t epoch, int64_t valid_for_ms = 3600000) {
  Route r;
  r.epoch = epoch;
  r.has_primary = true;
  r.primary = b;
  r.valid_until_ms = pw::mono_ms() + valid_for_ms;
  return r;
}

ProxyOptions opts() {
  ProxyOptions o;
  o.listen_address = "127.0.6.30";
  o.port = 0;
  o.hold_timeout_ms = 20000;
  o.shutdown_grace_ms = 200;
  o.thread_nice = 0;
  return o;
}

}  // namespace

TEST_CASE("I3: client bytes queued toward the server are not flushed once the route is stale") {
  Sink sink("127.0.6.31");
  auto p = Proxy::start(opts());
  p->publish(route_to(sink.backend(), 1));
  int c = tcp_connect("127.0.6.30", p->port());
  REQUIRE(c >= 0);
  // Far more than the kernel buffers hold between client, proxy and sink:
  // the proxy ends up with a partial write and bytes queued for the sink.
  std::thread writer([&] {
    std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 64; ++i)
      if (!send_all(c, chunk)) break;  // the proxy closes the session below
  });
  struct Joiner {  // a failed REQUIRE must not leave a joinable thread behind
    int fd;
    std::thread& t;
    ~Joiner() {
      shutdown(fd, SHUT_RDWR);
      if (t.joinable()) t.join();
      close(fd);
    }
  } joiner{c, writer};
  REQUIRE(wait_until([&] { return p->counters().readwrite.queued_bytes_now > 0; }));
  // The route goes stale (same epoch, expired): a renewal-shaped publish that
  // re-judges nobody; the session must notice before it flushes the queue.
  p->publish(route_to(sink.backend(), 1, -1));
  sink.go();  // the sink drains what the kernel holds: the proxy's socket turns writable
  REQUIRE(wait_until([&] { return p->counters().readwrite.paused_now == 1; }));
  Counters k = p->counters();
  INFO("read from client " << k.readwrite.bytes_client_to_server << ", queued " << k.readwrite.queued_bytes_now);
  REQUIRE(k.readwrite.queued_bytes_now > 0);
  // A new epoch closes the session; the sink then sees EOF after exactly the
  // bytes forwarded before the route went stale.
  p->publish(route_to(sink.backend(), 2));
  REQUIRE(wait_until([&] { return sink.done(); }));
  REQUIRE(sink.received() == k.readwrite.bytes_client_to_server - k.readwrite.queued_bytes_now);
  REQUIRE(p->counters().readwrite.closed_epoch_change == 1);
  REQUIRE(p->counters().readwrite.queued_bytes_now == 0);
}

TEST_CASE("a session paused past pause_timeout is closed") {
  Sink sink("127.0.6.31");
  auto o = opts();
  o.pause_timeout_ms = 300;
  auto p = Proxy::start(o);
  Route r = route_to(sink.backend(), 3, 500);
  p->publish(r);
  int c = tcp_connect("127.0.6.30", p->port());
  REQUIRE(c >= 0);
  REQUIRE(send_all(c, startup_packet()));  // reaches the server: the session is past its start
  REQUIRE(wait_until([&] { return sink.connected() && p->counters().readwrite.bytes_client_to_server > 0; }));
  sink.go();
  REQUIRE(wait_until([&] { return pw::mono_ms() > r.valid_until_ms; }));
  REQUIRE(send_all(c, "more"));  // not forwarded: the route is stale
  REQUIRE(wait_until([&] { return p->counters().readwrite.paused_total == 1; }));
  REQUIRE(wait_until([&] { return p->counters().readwrite.closed_pause_timeout == 1; }));
  // Closed, with no message injected mid-protocol (a reset when the unread
  // "more" was still in the proxy's receive buffer).
  char x;
  ssize_t got = recv(c, &x, 1, 0);
  REQUIRE((got == 0 || (got < 0 && errno == ECONNRESET)));
  REQUIRE(wait_until([&] { return sink.done(); }));
  REQUIRE(sink.received() == startup_packet().size());
  Counters k = p->counters();
  REQUIRE(k.readwrite.paused_now == 0);
  REQUIRE(k.readwrite.sessions_now == 0);
  REQUIRE(k.backends.at(0).sessions_now == 0);
  close(c);
}

TEST_CASE("a session paused before its startup packet reached the server gets 57P03") {
  Sink sink("127.0.6.31");
  auto o = opts();
  o.pause_timeout_ms = 300;
  auto p = Proxy::start(o);
  Route r = route_to(sink.backend(), 4, 500);
  p->publish(r);
  int c = tcp_connect("127.0.6.30", p->port());
  REQUIRE(c >= 0);
  REQUIRE(wait_until([&] { return sink.connected(); }));  // connected, nothing sent yet
  REQUIRE(wait_until([&] { return pw::mono_ms() > r.valid_until_ms; }));
  REQUIRE(send_all(c, startup_packet()));
  std::string e = read_n(c, 400);
  REQUIRE(e.size() > 0);
  REQUIRE(e[0] == 'E');
  REQUIRE(e.find(std::string("C57P03\0", 7)) != std::string::npos);
  REQUIRE(e.find("pgwarden: route stale for longer than pause_timeout (300 ms)") != std::string::npos);
  REQUIRE(p->counters().readwrite.closed_pause_timeout == 1);
  sink.go();
  REQUIRE(wait_until([&] { return sink.done(); }));
  REQUIRE(sink.received() == 0);  // not one byte reached the server
  close(c);
  REQUIRE(wait_until([&] { return p->counters().readwrite.sessions_now == 0; }));
}

TEST_CASE("backend host names are resolved at start, never when a route is published") {
  // /etc/hosts maps localhost to 127.0.0.1 (getent ahosts localhost).
  Sink sink("127.0.0.1");
  auto o = opts();
  o.backend_hosts = {"localhost", "127.0.6.32"};
  o.hold_timeout_ms = 600;
  auto p = Proxy::start(o);
  // A name nobody listed: not looked up (it would block the publisher), so
  // the route is unusable and the client is told why.
  Route bad = route_to(Backend{"unlisted-host.invalid", 5432, 0}, 1);
  p->publish(bad);
  int c = tcp_connect("127.0.6.30", p->port());
  REQUIRE(c >= 0);
  REQUIRE(send_all(c, startup_packet()));
  std::string e = read_n(c, 400);
  REQUIRE(e.find(std::string("C57P03\0", 7)) != std::string::npos);
  close(c);
  // A listed name was resolved by start(): forwarding works.
  Backend b = sink.backend();
  b.host = "localhost";
  p->publish(route_to(b, 2));
  c = tcp_connect("127.0.6.30", p->port());
  REQUIRE(c >= 0);
  REQUIRE(send_all(c, "hello"));
  REQUIRE(wait_until([&] { return sink.connected(); }));
  sink.go();
  close(c);
  REQUIRE(wait_until([&] { return sink.done(); }));
  REQUIRE(sink.received() == 5);
}
