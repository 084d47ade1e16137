// tests/integration/pgctl_replication_test.cc — a standby cloned by pgctl
// (pg_basebackup -X stream with its slot) streams from the primary: its
// replay LSN follows the primary's current LSN after writes, the rows
// arrive, the primary lists it in pg_stat_replication with its slot active,
// and its managed files were rewritten for itself after the copy.
#include <catch2/catch.hpp>

#include "pgctl/postgres.h"
#include "support/pgctl_cluster.h"

using namespace pw;
using namespace pw::test;

TEST_CASE("a clone streams from the primary with its slot") {
  TempDir td("pgctl-repl");
  ProcessReaper reaper(td.path());
  Loop loop;
  TwoNodes t;
  build_two_nodes(loop.base, td.path(), t, "127.0.4.12", "127.0.4.13");

  // The clone's progress was recorded.
  auto prog = t.n2->clone_progress();
  CHECK_FALSE(prog.active);
  CHECK(prog.tool == "pg_basebackup");
  CHECK(prog.error == "");
  CHECK(prog.total_kb > 0);
  CHECK(prog.done_kb == prog.total_kb);

  // The copied files were rewritten for n2 (not n1's address, standby on).
  std::string conf = read_text(t.o2.data_dir + "/pgwarden.conf");
  CHECK_THAT(conf, Catch::Contains("listen_addresses = '127.0.4.13'"));
  CHECK_THAT(conf, Catch::Contains("host=''127.0.4.12''"));
  CHECK_THAT(conf, Catch::Contains("primary_slot_name = 'n2'"));
  CHECK_THAT(conf, Catch::Contains("passfile="));
  CHECK(conf.find(test_password()) == std::string::npos);
  CHECK(read_text(t.o2.data_dir + "/standby.signal").empty());
  auto q = sql(loop.base, local(t.o2), "SHOW listen_addresses");
  CHECK(q.at(0, 0) == "127.0.4.13");

  auto s2 = wait_probe(loop.base, *t.n2);
  CHECK(s2.in_recovery);
  CHECK(s2.timeline == 1);
  CHECK(s2.upstream_host == "127.0.4.12");
  CHECK(s2.upstream_port == 15432);

  // Writes on the primary; the standby's replay catches up with them.
  q = sql(loop.base, local(t.o1),
          "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
  REQUIRE(q.error == "");
  auto s1 = wait_probe(loop.base, *t.n1);
  REQUIRE(s1.current_lsn > 0);
  uint64_t target = s1.current_lsn;
  s2 =
      probe_until(loop.base, *t.n2, [&](const pgctl::Status& s) { return s.replay_lsn >= target; });
  CHECK(s2.receive_lsn >= target);
  CHECK(s2.replay_lsn >= target);
  q = sql(loop.base, local(t.o2), "SELECT count(*) FROM t");
  REQUIRE(q.error == "");
  CHECK(q.at(0, 0) == "20000");

  // A second write: replay follows again (not a one-off catch-up).
  q = sql(loop.base, local(t.o1), "INSERT INTO t SELECT g, 'x' FROM generate_series(1, 100) g");
  REQUIRE(q.error == "");
  s1 = wait_probe(loop.base, *t.n1);
  REQUIRE(s1.current_lsn > target);
  target = s1.current_lsn;
  s2 =
      probe_until(loop.base, *t.n2, [&](const pgctl::Status& s) { return s.replay_lsn >= target; });
  CHECK(s2.replay_lsn >= target);

  // The primary sees the standby (by its node name) and its slot in use.
  s1 = probe_until(loop.base, *t.n1, [](const pgctl::Status& s) {
    return s.standbys.size() == 1 && s.standbys[0].state == "streaming" && s.slots.size() == 1 &&
           s.slots[0].active;
  });
  REQUIRE(s1.standbys.size() == 1);
  CHECK(s1.standbys[0].application_name == "n2");
  CHECK(s1.standbys[0].state == "streaming");
  CHECK(s1.standbys[0].sync_state == "async");
  CHECK(s1.standbys[0].replay_lsn >= target);
  CHECK(s1.standbys[0].lag_bytes ==
        s1.current_lsn - std::min(s1.current_lsn, s1.standbys[0].replay_lsn));
  REQUIRE(s1.slots.size() == 1);
  CHECK(s1.slots[0].name == "n2");
  CHECK(s1.slots[0].active);
  q = sql(loop.base, local(t.o1),
          "SELECT a.application_name FROM pg_replication_slots s "
          "JOIN pg_stat_replication a ON a.pid = s.active_pid WHERE s.slot_name = 'n2'");
  REQUIRE(q.rows.size() == 1);
  CHECK(q.at(0, 0) == "n2");

  // follow(): pointed at an address where nothing listens (reload, no
  // restart: same postmaster), the standby stops streaming; pointed back,
  // it streams again and catches up.
  pid_t standby_pid = t.n2->postmaster_pid();
  auto r = wait_op(loop.base, [&](pgctl::Done d) { t.n2->follow({"127.0.4.19", 15432}, d); });
  REQUIRE(r.error == "");
  CHECK(t.n2->postmaster_pid() == standby_pid);
  s2 = probe_until(loop.base, *t.n2,
                   [](const pgctl::Status& s) { return s.running && !s.wal_receiver_streaming; });
  CHECK_FALSE(s2.wal_receiver_streaming);
  q = sql(loop.base, local(t.o2), "SHOW primary_conninfo");
  CHECK_THAT(q.at(0, 0), Catch::Contains("127.0.4.19"));
  r = wait_op(loop.base, [&](pgctl::Done d) { t.n2->follow(t.up1, d); });
  REQUIRE(r.error == "");
  CHECK(t.n2->postmaster_pid() == standby_pid);
  q = sql(loop.base, local(t.o1), "INSERT INTO t VALUES (-1, 'after follow')");
  REQUIRE(q.error == "");
  target = wait_probe(loop.base, *t.n1).current_lsn;
  s2 = probe_until(loop.base, *t.n2, [&](const pgctl::Status& s) {
    return s.wal_receiver_streaming && s.replay_lsn >= target;
  });
  CHECK(s2.wal_receiver_streaming);
  CHECK(s2.upstream_host == "127.0.4.12");

  // Stop both cleanly; the standby's shutdown state says so.
  r = wait_op(loop.base, [&](pgctl::Done d) { t.n2->stop(pgctl::StopMode::fast, d); });
  CHECK(r.error == "");
  r = wait_op(loop.base, [&](pgctl::Done d) { t.n1->stop(pgctl::StopMode::fast, d); });
  CHECK(r.error == "");
  auto i2 = t.n2->inspect();
  CHECK(i2.was_standby);
  CHECK(i2.clean_shutdown);
  CHECK(i2.lsn() >= target);
}
