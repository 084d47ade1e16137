// tests/unit/pgctl_misc_test.cc — slot names, the initdb command line,
// version output parsing, the password file rules, and the non-blocking
// libpq connection against endpoints that refuse or never answer (the
// deadline ends a hung probe).
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <optional>

#include "base/clock.h"
#include "pgctl/initdb.h"
#include "pgctl/postgres.h"
#include "pgctl/pq_conn.h"
#include "pgctl/probe.h"
#include "pgctl/secrets.h"
#include "pgctl/slots.h"
#include "pgctl/sql_task.h"
#include "pgctl/version.h"
#include "support/event_wait.h"
#include "support/tmpdir.h"

using namespace pw;
using namespace pw::pgctl;
using pw::test::run_until;

TEST_CASE("slot names follow PostgreSQL's rules") {
  CHECK(Postgres::slot_name("db-postgres-01") == "db_postgres_01");
  CHECK(Postgres::slot_name("Node.A") == "node_a");
  CHECK(Postgres::slot_name("") == "_");
  CHECK(Postgres::slot_name(std::string(100, 'x')).size() == 63);
}

TEST_CASE("initdb command line") {
  PgOptions o;
  o.bin_dir = "/usr/lib/postgresql/17/bin";
  o.data_dir = "/data";
  o.superuser = "postgres";
  o.initdb_args = {"--locale=C.UTF-8", "--wal-segsize=64"};
  auto argv = initdb_argv(o);
  CHECK(argv == std::vector<std::string>{"/usr/lib/postgresql/17/bin/initdb", "-D", "/data",
                                         "--data-checksums", "--auth-local=peer",
                                         "--auth-host=scram-sha-256", "-U", "postgres",
                                         "--locale=C.UTF-8", "--wal-segsize=64"});
}

TEST_CASE("postgres --version output") {
  CHECK(parse_version_output("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n") == 15);
  CHECK(parse_version_output("postgres (PostgreSQL) 17beta1") == 17);
  CHECK(parse_version_output("postgres (PostgreSQL) 12.22") == 12);
  CHECK(parse_version_output("something else") == 0);
  std::string err;
  CHECK(detect_bin_major("/nonexistent", 1000, &err) == 0);
  CHECK_THAT(err, Catch::Contains("bin_dir"));
}

TEST_CASE("the password file: first line, private, never echoed") {
  test::TempDir td("pgctl-unit-pw");
  std::string p = td / "pw";
  { std::ofstream(p) << "s3cret:pw\nsecond line\n"; }
  chmod(p.c_str(), 0600);
  std::string pw, err;
  REQUIRE(read_password_file(p, &pw, &err));
  CHECK(pw == "s3cret:pw");
  chmod(p.c_str(), 0644);
  CHECK_FALSE(read_password_file(p, &pw, &err));
  CHECK_THAT(err, Catch::Contains("chmod 0600") && !Catch::Contains("s3cret"));
  { std::ofstream(p, std::ios::trunc) << "\n"; }
  chmod(p.c_str(), 0600);
  CHECK_FALSE(read_password_file(p, &pw, &err));
  CHECK_THAT(err, Catch::Contains("empty"));
  CHECK_FALSE(read_password_file(td / "missing", &pw, &err));
  std::string pass = td / "pgpass";
  REQUIRE(write_passfile(pass, "rep", "a:b", &err));
  std::ifstream f(pass);
  std::string line;
  std::getline(f, line);
  CHECK(line == "*:*:*:rep:a\\:b");
}

TEST_CASE("connecting to a missing socket fails on the loop, not inside the call") {
  event_base* base = event_base_new();
  {
    test::TempDir td("pgctl-unit-pq");
    PqConn c(base, local_params(td.path(), 15999, "postgres", 1000), 2000);
    std::optional<std::string> err;
    c.connect([&](const std::string& e) { err = e; });
    CHECK_FALSE(err.has_value());  // asynchronous even when it fails at once
    REQUIRE(run_until(
        base, [&] { return err.has_value(); }, 5000));
    CHECK_THAT(*err, Catch::Contains(".s.PGSQL.15999"));
  }
  event_base_free(base);
}

TEST_CASE("a probe against a server that never answers ends at its deadline") {
  event_base* base = event_base_new();
  // Accepts TCP connections (in the kernel backlog) but never speaks.
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(ls, 8) == 0);
  socklen_t len = sizeof a;
  getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len);
  {
    TaskSet tasks(base);
    PqConn::Params params = {{"host", "127.0.0.1"},  {"port", std::to_string(ntohs(a.sin_port))},
                             {"user", "x"},          {"dbname", "postgres"},
                             {"sslmode", "disable"}, {"gssencmode", "disable"}};
    std::optional<Status> st;
    int64_t t0 = mono_ms();
    start_probe(tasks, params, 300, [&](const Status& s) { st = s; });
    // A timer on the same loop keeps running meanwhile.
    int ticks = 0;
    event* tick = event_new(
        base, -1, EV_PERSIST, [](int, short, void* p) { ++*static_cast<int*>(p); }, &ticks);
    timeval tv{0, 20000};
    event_add(tick, &tv);
    REQUIRE(run_until(
        base, [&] { return st.has_value(); }, 10000));
    event_free(tick);
    CHECK_FALSE(st->running);
    CHECK_THAT(st->error, Catch::Contains("timed out"));
    // It was the deadline that ended it (not an immediate failure), and the
    // loop kept turning while the connection hung.
    CHECK(mono_ms() - t0 >= 250);
    CHECK(ticks >= 2);
  }
  close(ls);
  event_base_free(base);
}
