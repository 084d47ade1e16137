// tests/integration/pgctl_primary_test.cc — one real PostgreSQL 15 driven
// through pgctl: initdb, start as primary, probe, the managed configuration
// in effect, the replication role (password never logged), slots,
// synchronous_standby_names, stop; and a postmaster started outside the
// Postgres object is refused or adopted.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "base/log.h"
#include "pgctl/postgres.h"
#include "support/log_capture.h"
#include "support/pgctl_harness.h"

using namespace pw;
using namespace pw::test;
using pgctl::Postgres;
using pgctl::Role;
using pgctl::StopMode;

TEST_CASE("initdb, start as primary, probe, managed config, role, slots, stop") {
  TempDir td("pgctl-primary");
  ProcessReaper reaper(td.path());
  Loop loop;
  // Capture our log in a file to prove the password never reaches it.
  LogCapture log(td / "pgwarden.log", LogCapture::AtEnd::replay);

  auto o = node_options(td.path(), "n1", "127.0.4.11", {"127.0.4.11", "127.0.4.12"});
  auto pg = Postgres::create(loop.base, o);
  REQUIRE(pg->bin_major_version() == 15);
  CHECK(pg->inspect().kind == pgctl::DataDirInfo::Kind::empty);

  auto r = wait_op(loop.base, [&](pgctl::Done d) { pg->initdb(d); });
  REQUIRE(r.error == "");
  REQUIRE(r.ok);
  auto info = pg->inspect();
  REQUIRE(info.kind == pgctl::DataDirInfo::Kind::cluster);
  CHECK(info.timeline == 1);
  CHECK(info.clean_shutdown);
  CHECK_FALSE(info.was_standby);
  CHECK(info.major_version == 15);

  // initdb a second time is refused: the directory is not empty.
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->initdb(d); });
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.error, Catch::Contains("not empty"));

  r = wait_op(loop.base, [&](pgctl::Done d) { pg->start(Role::primary, {}, d); });
  REQUIRE(r.error == "");
  REQUIRE(pg->postmaster_pid() > 0);
  CHECK_FALSE(pg->adopted());

  auto st = wait_probe(loop.base, *pg);
  REQUIRE(st.error == "");
  CHECK(st.running);
  CHECK_FALSE(st.in_recovery);
  CHECK(st.timeline == 1);
  CHECK(st.current_lsn > 0);
  CHECK(st.server_version / 10000 == 15);

  // The managed configuration is what the server runs with.
  auto q = sql(loop.base, local(o), "SHOW port");
  REQUIRE(q.ok);
  CHECK(q.at(0, 0) == "15432");
  q = sql(loop.base, local(o),
          "SELECT name, setting, sourcefile FROM pg_settings WHERE name IN "
          "('port','listen_addresses','wal_level','hot_standby','wal_log_hints','data_checksums') "
          "ORDER BY name");
  REQUIRE(q.ok);
  REQUIRE(q.rows.size() == 6);
  for (size_t i = 0; i < q.rows.size(); ++i) {
    std::string name = q.at(i, 0), setting = q.at(i, 1), file = q.at(i, 2);
    INFO(name << " = " << setting << " from " << file);
    if (name == "data_checksums") {
      CHECK(setting == "on");  // initdb --data-checksums
      continue;
    }
    CHECK_THAT(file, Catch::EndsWith("/pgwarden.conf"));
    if (name == "port") CHECK(setting == "15432");
    if (name == "listen_addresses") CHECK(setting == "127.0.4.11");
    if (name == "wal_level") CHECK(setting == "replica");
    if (name == "hot_standby" || name == "wal_log_hints") CHECK(setting == "on");
  }
  // Our pg_hba block parses and admits the members for replication.
  q = sql(loop.base, local(o),
          "SELECT count(*) FILTER (WHERE error IS NOT NULL), "
          "count(*) FILTER (WHERE 'replication' = ANY(database) AND address = '127.0.4.12'), "
          "min(line_number) FILTER (WHERE address = '127.0.4.12') < "
          "min(line_number) FILTER (WHERE address = '127.0.0.1' AND 'all' = ANY(user_name) AND "
          "auth_method = 'scram-sha-256') "
          "FROM pg_hba_file_rules");
  REQUIRE(q.ok);
  CHECK(q.at(0, 0) == "0");
  CHECK(q.at(0, 1) == "1");
  CHECK(q.at(0, 2) == "t");  // our block comes before initdb's lines

  // The replication role: created, usable with the file's password over TCP.
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->ensure_replication_role(d); });
  REQUIRE(r.error == "");
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->ensure_replication_role(d); });  // idempotent
  REQUIRE(r.error == "");
  q = sql(loop.base, local(o),
          "SELECT rolreplication, rolcanlogin, rolpassword LIKE 'SCRAM-SHA-256$%' "
          "FROM pg_authid WHERE rolname = 'replicator'");
  REQUIRE(q.ok);
  REQUIRE(q.rows.size() == 1);
  CHECK(q.rows[0] == std::vector<std::string>{"t", "t", "t"});
  pgctl::PqConn::Params tcp = {{"host", "127.0.4.11"},
                               {"port", "15432"},
                               {"user", "replicator"},
                               {"dbname", "postgres"},
                               {"password", test_password()}};
  q = sql(loop.base, tcp, "SELECT current_user");
  REQUIRE(q.error == "");
  CHECK(q.at(0, 0) == "replicator");
  tcp.back().second = "wrong";
  q = sql(loop.base, tcp, "SELECT 1");
  CHECK_FALSE(q.ok);

  // Slots: exactly the requested set.
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->sync_slots({"n2", "n3"}, d); });
  REQUIRE(r.error == "");
  st = wait_probe(loop.base, *pg);
  REQUIRE(st.slots.size() == 2);
  CHECK(st.slots[0].name == "n2");
  CHECK(st.slots[1].name == "n3");
  CHECK(st.slots[0].restart_lsn > 0);  // WAL reserved right away
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->sync_slots({"n2"}, d); });
  REQUIRE(r.error == "");
  st = wait_probe(loop.base, *pg);
  REQUIRE(st.slots.size() == 1);
  CHECK(st.slots[0].name == "n2");

  r = wait_op(loop.base, [&](pgctl::Done d) { pg->set_synchronous_standby_names("n2", d); });
  REQUIRE(r.error == "");
  q = sql(loop.base, local(o), "SHOW synchronous_standby_names");
  CHECK(q.at(0, 0) == "n2");
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->set_synchronous_standby_names("", d); });
  REQUIRE(r.error == "");

  // A second controller on the same directory refuses, or adopts on request.
  auto other = Postgres::create(loop.base, o);
  r = wait_op(loop.base, [&](pgctl::Done d) { other->start(Role::standby, {}, d); });
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.error, Catch::Contains("did not start") && Catch::Contains("pg_ctl"));
  auto o2 = o;
  o2.adopt_running = true;
  auto adopter = Postgres::create(loop.base, o2);
  r = wait_op(loop.base, [&](pgctl::Done d) { adopter->start(Role::standby, {}, d); });
  REQUIRE(r.error == "");
  CHECK(adopter->adopted());
  CHECK(adopter->postmaster_pid() == pg->postmaster_pid());

  // The adopter stops it; the owner sees its child exit (unrequested).
  int owner_saw_exit = 0;
  pg->set_exit_handler([&](int) { ++owner_saw_exit; });
  r = wait_op(loop.base, [&](pgctl::Done d) { adopter->stop(StopMode::fast, d); });
  REQUIRE(r.error == "");
  CHECK(run_until(
      loop.base, [&] { return owner_saw_exit == 1; }, 30000));
  CHECK(pg->postmaster_pid() == 0);
  info = pg->inspect();
  CHECK(info.clean_shutdown);
  CHECK(info.running_pid == 0);

  // Start by the owner again, then demote: it comes back as a standby
  // (no upstream yet), read-only.
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->start(Role::primary, {}, d); });
  REQUIRE(r.error == "");
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->demote({}, d); });
  REQUIRE(r.error == "");
  st = wait_probe(loop.base, *pg);
  CHECK(st.in_recovery);
  CHECK(st.timeline == 1);
  CHECK(pg->inspect().was_standby);
  q = sql(loop.base, local(o), "CREATE TABLE should_fail (x int)");
  CHECK_FALSE(q.ok);
  CHECK(owner_saw_exit == 1);  // a requested stop is not an "unexpected exit"

  // start(primary) on a standby's directory never just drops standby.signal
  // (that would continue timeline 1): it starts as a standby and promotes.
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->stop(StopMode::fast, d); });
  REQUIRE(r.error == "");
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->start(Role::primary, {}, d); });
  REQUIRE(r.error == "");
  st = wait_probe(loop.base, *pg);
  CHECK_FALSE(st.in_recovery);
  CHECK(st.timeline == 2);
  q = sql(loop.base, local(o), "CREATE TABLE now_ok (x int)");
  CHECK(q.ok);
  // promote() on a primary is a no-op success.
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->promote(0, d); });
  CHECK(r.error == "");

  r = wait_op(loop.base, [&](pgctl::Done d) { pg->stop(StopMode::fast, d); });
  REQUIRE(r.error == "");
  CHECK(pg->postmaster_pid() == 0);
  CHECK(owner_saw_exit == 1);
  st = wait_probe(loop.base, *pg);
  CHECK_FALSE(st.running);
  CHECK_FALSE(st.error.empty());

  // The password never reached our log (which includes the server's output).
  std::string logged = log.text();
  CHECK(logged.find("replication role created") != std::string::npos);
  CHECK(logged.find(test_password()) == std::string::npos);
  CHECK(logged.find("Secret-7f3a9") == std::string::npos);
  // The passfile holds it, readable by us only.
  struct stat sb;
  REQUIRE(stat((o.socket_dir + "/pgwarden.pgpass").c_str(), &sb) !=
          0);  // no standby: not written yet
}

TEST_CASE("a frozen postmaster is killed by stop's escalation") {
  TempDir td("pgctl-frozen");
  ProcessReaper reaper(td.path());
  Loop loop;
  auto o = node_options(td.path(), "n1", "127.0.4.15", {"127.0.4.15"});
  o.stop_timeout_ms = 500;  // per step: fast → immediate → SIGKILL
  auto pg = Postgres::create(loop.base, o);
  auto r = wait_op(loop.base, [&](pgctl::Done d) { pg->initdb(d); });
  REQUIRE(r.error == "");
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->start(Role::primary, {}, d); });
  REQUIRE(r.error == "");
  int unexpected = 0;
  pg->set_exit_handler([&](int) { ++unexpected; });
  pid_t pid = pg->postmaster_pid();
  REQUIRE(kill(pid, SIGSTOP) == 0);  // it can no longer act on SIGINT/SIGQUIT
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->stop(StopMode::fast, d); });
  REQUIRE(r.error == "");
  CHECK(pg->postmaster_pid() == 0);
  CHECK(kill(pid, 0) != 0);  // reaped
  // Its whole process group went with it: no backend is left behind.
  CHECK(run_until(
      loop.base, [&] { return processes_under(td.path()).empty(); }, 30000));
  CHECK(unexpected == 0);
  // It starts again after crash recovery.
  CHECK_FALSE(pg->inspect().clean_shutdown);
  r = wait_op(loop.base, [&](pgctl::Done d) { pg->start(Role::primary, {}, d); });
  REQUIRE(r.error == "");
  CHECK(wait_probe(loop.base, *pg).running);
}
