// tests/integration/proxy_pg_test.cc — the proxy in front of real
// PostgreSQL 15 (run as the postgres user): psql/libpq through both ports,
// a streaming replica behind the read-only port, route switch, hold and
// release, the 57P03 text psql prints after hold_timeout, TLS passthrough,
// 53300 refusal, query cancel on both ports, and garbage that must not
// disturb other sessions, and a server refusing sessions with 57P03 held
// and retried, and what TLS hides from that watch (measured over restarts).
// Loopback block 127.0.6.x: primary .10 (TLS on), replica .11, another
// primary .13, its standby with hot_standby = off .14, a TLS standby with
// hot_standby = off .15, proxy .12 (5432 rw, 5433 ro).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "integration/proxy_it_util.h"
#include "integration/proxy_pg.h"
#include "proxy/proxy.h"
#include "support/proxy_sockets.h"
#include "support/tmpdir.h"
#include "support/wait.h"

using namespace pw::proxy;
using namespace pw::test;

namespace {

constexpr const char* kProxyIp = "127.0.6.12";

struct Cluster {
  TempDir tmp{"pw-proxy-it"};
  PgInstance primary{tmp / "primary", "127.0.6.10"};
  PgInstance replica{tmp / "replica", "127.0.6.11"};
  PgInstance other{tmp / "other", "127.0.6.13"};
  Cluster() {
    primary.initdb(/*ssl=*/true);
    primary.start();
    replica.clone_from(primary);
    replica.start();
    other.initdb();
    other.start();
    std::string out;
    bool streaming = wait_until([&] {
      return psql(primary.conninfo(), "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
                  &out) == 0 &&
             out == "1";
    });
    if (!streaming) throw std::runtime_error("replica never streamed: " + out);
  }
};

Cluster& cluster() {
  static Cluster c;
  return c;
}

Backend backend_of(const PgInstance& pg) { return {pg.host(), pg.port(), 0}; }

Route route_to(const PgInstance& primary, uint64_t epoch, bool with_replica = true) {
  Route r;
  r.epoch = epoch;
  r.has_primary = true;
  r.primary = backend_of(primary);
  r.valid_until_ms = pw::mono_ms() + 3600 * 1000;
  if (with_replica) r.replicas = {backend_of(cluster().replica)};
  return r;
}

ProxyOptions options() {
  ProxyOptions o;
  o.listen_address = kProxyIp;
  o.port = 5432;
  o.readonly_port = 5433;
  o.hold_timeout_ms = 30000;
  o.shutdown_grace_ms = 500;
  return o;
}

std::string via(uint16_t port, const std::string& extra = "sslmode=disable") {
  return std::string("host=") + kProxyIp + " port=" + std::to_string(port) + " user=postgres dbname=postgres " +
         extra;
}

/// Connects (blocking) and asks which server answered: *server gets its
/// address, or libpq's error text when the connection failed.
void ask_server(const std::string& conninfo, std::atomic<bool>* ok, std::string* server) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) == CONNECTION_OK) {
    *server = query1(conn, "SELECT host(inet_server_addr())");
    *ok = true;
  } else {
    *server = PQerrorMessage(conn);
  }
  PQfinish(conn);
}

}  // namespace

TEST_CASE("psql through the read-write port reaches the primary, read-only the replica") {
  Cluster& c = cluster();
  auto p = Proxy::start(options());
  p->publish(route_to(c.primary, 1));
  std::string out;
  REQUIRE(psql(via(5432), "SELECT pg_is_in_recovery()", &out) == 0);
  REQUIRE(out == "f");
  REQUIRE(psql(via(5432), "SELECT host(inet_server_addr())", &out) == 0);
  REQUIRE(out == "127.0.6.10");
  REQUIRE(psql(via(5433), "SELECT pg_is_in_recovery()", &out) == 0);
  REQUIRE(out == "t");
  REQUIRE(psql(via(5433), "SELECT host(inet_server_addr())", &out) == 0);
  REQUIRE(out == "127.0.6.11");
  Counters k = p->counters();
  REQUIRE(k.readwrite.sessions_total == 2);
  REQUIRE(k.readonly.sessions_total == 2);
  REQUIRE(k.readwrite.bytes_server_to_client > 0);
}

TEST_CASE("TLS between client and PostgreSQL passes through the proxy untouched") {
  Cluster& c = cluster();
  auto p = Proxy::start(options());
  p->publish(route_to(c.primary, 1));
  std::string out;
  REQUIRE(psql(via(5432, "sslmode=require"), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &out) == 0);
  REQUIRE(out == "t");
}

TEST_CASE("route switch closes sessions on the old primary; new ones reach the new one") {
  Cluster& c = cluster();
  auto p = Proxy::start(options());
  p->publish(route_to(c.primary, 1));
  PGconn* old_session = PQconnectdb(via(5432).c_str());
  REQUIRE(PQstatus(old_session) == CONNECTION_OK);
  REQUIRE(query1(old_session, "SELECT host(inet_server_addr())") == "127.0.6.10");
  p->publish(route_to(c.other, 2, false));
  REQUIRE(wait_until([&] { return p->counters().readwrite.closed_epoch_change == 1; }));
  REQUIRE(query1(old_session, "SELECT 1").rfind("ERROR", 0) == 0);  // closed under it
  PQfinish(old_session);
  std::string out;
  REQUIRE(psql(via(5432), "SELECT host(inet_server_addr())", &out) == 0);
  REQUIRE(out == "127.0.6.13");
}

TEST_CASE("a connection opened with no route succeeds when a route is published 2 s later") {
  Cluster& c = cluster();
  auto p = Proxy::start(options());
  std::atomic<bool> ok{false};
  std::string server;
  std::thread client([&] { ask_server(via(5432, "sslmode=prefer connect_timeout=60"), &ok, &server); });
  REQUIRE(wait_until([&] { return p->counters().readwrite.held_now == 1; }));
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the scenario, not a correctness wait
  p->publish(route_to(c.primary, 1));
  client.join();
  INFO(server);
  REQUIRE(ok);
  REQUIRE(server == "127.0.6.10");
  REQUIRE(p->counters().readwrite.held_total == 1);
}

TEST_CASE("past hold_timeout psql prints the 57P03 reason") {
  cluster();
  auto o = options();
  o.hold_timeout_ms = 1000;
  auto p = Proxy::start(o);
  Route none;
  none.unavailable_reason = "no primary available (failover in progress)";
  p->publish(none);
  std::string out;
  // sslmode=prefer: libpq sends an SSLRequest first, which must get 'N'.
  REQUIRE(psql(via(5432, "sslmode=prefer"), "SELECT 1", &out) != 0);
  INFO(out);
  REQUIRE(out.find("FATAL:  pgwarden: no primary available (failover in progress)") != std::string::npos);
  REQUIRE(p->counters().readwrite.hold_timeouts == 1);
}

TEST_CASE("a server refusing new sessions with 57P03 is retried until the route moves; the client never sees it") {
  // A real server that answers every session with 57P03: a standby with
  // hot_standby = off ("the database system is not accepting connections"),
  // as a primary does while it shuts down or starts up (issue 12).
  Cluster& c = cluster();
  PgInstance cold(c.tmp / "cold", "127.0.6.14");
  cold.clone_from(c.other);
  append_file(cold.dir() + "/postgresql.conf", "hot_standby = off\n");
  cold.start();
  std::string out;
  REQUIRE(psql(cold.conninfo("sslmode=disable"), "SELECT 1", &out) != 0);
  REQUIRE(out.find("not accepting connections") != std::string::npos);

  auto p = Proxy::start(options());
  uint64_t epoch = 1;
  // sslmode=prefer: the SSLRequest's 'N' reaches the client once, and the
  // replay to the next server swallows that server's 'N'.
  for (const char* mode : {"sslmode=disable", "sslmode=prefer"}) {
    INFO(mode);
    p->publish(route_to(cold, epoch++, false));
    uint64_t before = p->counters().readwrite.startup_retries;
    std::atomic<bool> ok{false};
    std::string server;
    std::thread client([&] { ask_server(via(5432, std::string(mode) + " connect_timeout=60"), &ok, &server); });
    // On a failed REQUIRE the client must still be released and joined.
    struct Release {
      std::function<void()> f;
      ~Release() { f(); }
    } release{[&] {
      p->publish(route_to(c.other, epoch++, false));
      if (client.joinable()) client.join();
    }};
    REQUIRE(wait_until([&] { return p->counters().readwrite.startup_retries >= before + 2; }));
    release.f();
    INFO(server);
    REQUIRE(ok);
    REQUIRE(server == "127.0.6.13");
  }
  p.reset();

  // Past the hold deadline the client gets the server's own error.
  auto o = options();
  o.hold_timeout_ms = 1500;
  auto q = Proxy::start(o);
  q->publish(route_to(cold, epoch++, false));
  REQUIRE(psql(via(5432, "sslmode=prefer"), "SELECT 1", &out) != 0);
  INFO(out);
  REQUIRE(out.find("FATAL:  the database system is not accepting connections") != std::string::npos);
  REQUIRE(q->counters().readwrite.startup_retries >= 1);
}

namespace {

/// What clients saw while connecting in a loop through the proxy.
struct Tally {
  std::atomic<int> attempts{0}, ok{0}, shown_57p03{0}, plaintext{0}, lost{0};
  std::mutex mu;
  std::map<std::string, int> other_errors;  // first line of libpq's message -> count
  std::string others() {
    std::lock_guard<std::mutex> lk(mu);
    std::string out;
    for (const auto& [e, n] : other_errors) out += " [" + std::to_string(n) + "x " + e + "]";
    return out;
  }
};

/// Connects (sslmode in `mode`) until *stop, sorting each outcome into `t`.
void connect_loop(const std::string& mode, const std::atomic<bool>* stop, Tally* t) {
  while (!*stop) {
    PGconn* conn = PQconnectdb(via(5432, mode + " connect_timeout=60").c_str());
    ++t->attempts;
    if (PQstatus(conn) == CONNECTION_OK) {
      ++t->ok;
      std::string ssl = query1(conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
      if (ssl == "f") ++t->plaintext;
      else if (ssl != "t") ++t->lost;  // ended by the restart before it answered
    } else {
      std::string e = PQerrorMessage(conn);
      bool refused = e.find("starting up") != std::string::npos || e.find("shutting down") != std::string::npos ||
                     e.find("not accepting connections") != std::string::npos;
      if (refused) {
        ++t->shown_57p03;
      } else {
        // What the restart itself does to a session starting at that moment
        // (a backend killed by an immediate shutdown, TLS cut mid-handshake).
        size_t at = e.find("failed: ");
        e = e.substr(at == std::string::npos ? 0 : at + 8);
        e = e.substr(0, e.find('\n'));
        std::lock_guard<std::mutex> lk(t->mu);
        ++t->other_errors[e];
      }
    }
    PQfinish(conn);
  }
}

}  // namespace

TEST_CASE("under TLS the startup watch sees nothing: clients meet the 57P03, measured over restarts") {
  // The watch reads the server's first message; after the server's 'S' it
  // is encrypted. So sslmode=require, and libpq's default sslmode=prefer
  // whenever the server has ssl = on (libpq 15 does not retry without TLS
  // after an error), meet every refusal. The restart part measures how
  // often each mode shows a 57P03 while a server restarts under a static
  // route (no control plane holding clients): numbers in docs/proxy.md.
  Cluster& c = cluster();
  PgInstance cold(c.tmp / "tlscold", "127.0.6.15");
  cold.clone_from(c.primary);  // ssl = on and its key come along
  append_file(cold.dir() + "/postgresql.conf", "hot_standby = off\n");
  cold.start();
  auto p = Proxy::start(options());
  uint64_t epoch = 100;
  p->publish(route_to(cold, epoch++, false));
  for (const char* mode : {"sslmode=require", "sslmode=prefer"}) {
    INFO(mode);
    std::string out;
    REQUIRE(psql(via(5432, mode), "SELECT 1", &out) != 0);
    INFO(out);
    REQUIRE(out.find("FATAL:  the database system is not accepting connections") != std::string::npos);
  }
  REQUIRE(p->counters().readwrite.startup_retries == 0);  // nothing seen

  // The measurement: four clients connect in a loop while the server
  // restarts three times (a fast shutdown, then an immediate one and crash
  // recovery, alternately), once per sslmode.
  run_or_throw(pg_bin("pg_ctl") + " -D " + cold.dir() + " -w -t 60 promote");
  for (const char* mode : {"sslmode=disable", "sslmode=prefer", "sslmode=require"}) {
    INFO(mode);
    p->publish(route_to(cold, epoch++, false));
    uint64_t retries0 = p->counters().readwrite.startup_retries;
    Tally t;
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int i = 0; i < 4; ++i) clients.emplace_back([&] { connect_loop(mode, &stop, &t); });
    struct Join {
      std::atomic<bool>& stop;
      std::vector<std::thread>& threads;
      ~Join() {
        stop = true;
        for (auto& th : threads) th.join();
      }
    } join{stop, clients};
    for (int r = 0; r < 3; ++r) {
      int seen = t.ok;
      REQUIRE(wait_until([&] { return t.ok >= seen + 20; }));
      run_or_throw(pg_bin("pg_ctl") + " -D " + cold.dir() + " -l " + cold.dir() + ".log -w -t 60 -m " +
                   (r % 2 ? "immediate" : "fast") + " restart");
    }
    int seen = t.ok;
    REQUIRE(wait_until([&] { return t.ok >= seen + 20; }));
    stop = true;
    for (auto& th : clients) th.join();
    clients.clear();
    std::printf("startup watch measurement: %s attempts=%d ok=%d shown_57P03=%d plaintext=%d lost=%d "
                "startup_retries=%llu other_errors:%s\n",
                mode, t.attempts.load(), t.ok.load(), t.shown_57p03.load(), t.plaintext.load(), t.lost.load(),
                static_cast<unsigned long long>(p->counters().readwrite.startup_retries - retries0),
                t.others().c_str());
    std::fflush(stdout);
    if (std::string(mode) == "sslmode=disable") CHECK(t.shown_57p03 == 0);  // the watch's own job
    if (std::string(mode) == "sslmode=require") CHECK(t.plaintext == 0);
  }
}

TEST_CASE("max_client_connections refusal is a 53300 psql can print") {
  Cluster& c = cluster();
  auto o = options();
  o.max_client_connections = 2;
  auto p = Proxy::start(o);
  p->publish(route_to(c.primary, 1));
  PGconn* a = PQconnectdb(via(5432).c_str());
  PGconn* b = PQconnectdb(via(5432).c_str());
  REQUIRE(PQstatus(a) == CONNECTION_OK);
  REQUIRE(PQstatus(b) == CONNECTION_OK);
  std::string out;
  REQUIRE(psql(via(5432), "SELECT 1", &out) != 0);
  INFO(out);
  REQUIRE(out.find("pgwarden: too many connections") != std::string::npos);
  REQUIRE(p->counters().readwrite.refused == 1);
  PQfinish(a);
  PQfinish(b);
}

TEST_CASE("query cancel reaches the server on both ports") {
  Cluster& c = cluster();
  auto p = Proxy::start(options());
  p->publish(route_to(c.primary, 1));
  for (uint16_t port : {uint16_t{5432}, uint16_t{5433}}) {
    INFO("port " << port);
    PGconn* conn = PQconnectdb(via(port).c_str());
    REQUIRE(PQstatus(conn) == CONNECTION_OK);
    REQUIRE(PQsendQuery(conn, "SELECT pg_sleep(60)") == 1);
    std::string out;
    // Wait until the query runs before cancelling it.
    REQUIRE(wait_until([&] {
      const PgInstance& pg = port == 5432 ? c.primary : c.replica;
      return psql(pg.conninfo(), "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'",
                  &out) == 0 &&
             out == "1";
    }));
    PGcancel* cancel = PQgetCancel(conn);
    char err[256];
    REQUIRE(PQcancel(cancel, err, sizeof err) == 1);
    PQfreeCancel(cancel);
    PGresult* r = PQgetResult(conn);
    REQUIRE(PQresultStatus(r) == PGRES_FATAL_ERROR);
    REQUIRE(std::string(PQresultErrorField(r, PG_DIAG_SQLSTATE)) == "57014");
    PQclear(r);
    while ((r = PQgetResult(conn))) PQclear(r);
    PQfinish(conn);
  }
  REQUIRE(p->counters().readonly.cancel_requests == 1);
}

TEST_CASE("garbage from clients never disturbs other sessions") {
  Cluster& c = cluster();
  auto o = options();
  o.hold_timeout_ms = 2000;
  auto p = Proxy::start(o);
  p->publish(route_to(c.primary, 1));
  PGconn* good = PQconnectdb(via(5432).c_str());
  REQUIRE(PQstatus(good) == CONNECTION_OK);
  REQUIRE(exec_ok(good, "BEGIN"));
  REQUIRE(query1(good, "SELECT 41 + 1") == "42");
  std::mt19937 rng(7);
  std::vector<int> silent;
  for (uint16_t port : {uint16_t{5432}, uint16_t{5433}}) {
    for (int i = 0; i < 5; ++i) {  // random bytes, then close
      int fd = tcp_connect(kProxyIp, port);
      REQUIRE(fd >= 0);
      std::string junk(4096, '\0');
      for (auto& ch : junk) ch = static_cast<char>(rng());
      (void)!send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
      close(fd);
    }
    int half = tcp_connect(kProxyIp, port);  // half a startup packet, then silence
    REQUIRE(half >= 0);
    (void)!send(half, "\x00\x00", 2, MSG_NOSIGNAL);
    silent.push_back(half);
  }
  REQUIRE(query1(good, "SELECT 6 * 7") == "42");
  std::string out;
  REQUIRE(psql(via(5432), "SELECT 'rw ok'", &out) == 0);
  REQUIRE(out == "rw ok");
  REQUIRE(psql(via(5433), "SELECT 'ro ok'", &out) == 0);
  REQUIRE(out == "ro ok");
  REQUIRE(query1(good, "SELECT 'still here'") == "still here");
  PQfinish(good);
  for (int fd : silent) close(fd);
}

TEST_CASE("graceful shutdown lets a session finish within the grace period") {
  Cluster& c = cluster();
  auto o = options();
  o.shutdown_grace_ms = 30000;
  auto p = Proxy::start(o);
  p->publish(route_to(c.primary, 1));
  PGconn* conn = PQconnectdb(via(5432).c_str());
  REQUIRE(PQstatus(conn) == CONNECTION_OK);
  std::thread stopper([&] { p->shutdown(); });
  // New connections are refused once the listener is closed...
  REQUIRE(wait_until([&] {
    int fd = tcp_connect(kProxyIp, 5432);
    if (fd >= 0) close(fd);
    return fd < 0;
  }));
  // ...while the running session keeps working until it ends by itself.
  REQUIRE(query1(conn, "SELECT 'alive'") == "alive");
  PQfinish(conn);
  stopper.join();
}
