// tests/integration/pgctl_rewind_test.cc — failover and rejoin through
// pgctl: the standby is promoted (timeline 2) while the old primary keeps
// writing (divergence); pg_rewind brings the old primary back onto the new
// timeline, it restarts as a standby of the new primary, its diverged row is
// gone, and a row written on the new primary appears on it.
#include <catch2/catch.hpp>

#include "pgctl/postgres.h"
#include "support/pgctl_cluster.h"

using namespace pw;
using namespace pw::test;
using pgctl::Role;

TEST_CASE("promote, diverge, pg_rewind the old primary, rejoin as standby") {
  TempDir td("pgctl-rewind");
  ProcessReaper reaper(td.path());
  Loop loop;
  TwoNodes t;
  build_two_nodes(loop.base, td.path(), t, "127.0.4.21", "127.0.4.22");
  auto q = sql(loop.base, local(t.o1), "CREATE TABLE t (v text)");
  REQUIRE(q.error == "");
  q = sql(loop.base, local(t.o1), "INSERT INTO t VALUES ('before')");
  REQUIRE(q.error == "");
  uint64_t target = wait_probe(loop.base, *t.n1).current_lsn;
  probe_until(loop.base, *t.n2, [&](const pgctl::Status& s) { return s.replay_lsn >= target; });

  // Promote n2 while n1 still runs as a primary: two writable servers.
  auto r = wait_op(loop.base, [&](pgctl::Done d) { t.n2->promote(0, d); });
  REQUIRE(r.error == "");
  auto s2 = wait_probe(loop.base, *t.n2);
  CHECK_FALSE(s2.in_recovery);
  CHECK(s2.timeline == 2);
  CHECK_FALSE(t.n2->inspect().was_standby);  // standby.signal is gone

  q = sql(loop.base, local(t.o1),
          "INSERT INTO t SELECT 'old-primary-' || g FROM generate_series(1, 1000) g");
  REQUIRE(q.error == "");
  q = sql(loop.base, local(t.o1), "CHECKPOINT");
  REQUIRE(q.error == "");
  q = sql(loop.base, local(t.o2), "INSERT INTO t VALUES ('new-primary-1')");
  REQUIRE(q.error == "");
  auto s1 = wait_probe(loop.base, *t.n1);
  CHECK(s1.timeline == 1);

  // The new primary keeps a slot for the old one before it rejoins.
  r = wait_op(loop.base,
              [&](pgctl::Done d) { t.n2->sync_slots({pgctl::Postgres::slot_name("n1")}, d); });
  REQUIRE(r.error == "");

  // n1 crashes as a primary would (immediate: no clean shutdown), then
  // pgctl rewinds it: crash recovery in single-user mode, then pg_rewind.
  r = wait_op(loop.base, [&](pgctl::Done d) { t.n1->stop(pgctl::StopMode::immediate, d); });
  REQUIRE(r.error == "");
  CHECK_FALSE(t.n1->inspect().clean_shutdown);
  r = wait_op(loop.base, [&](pgctl::Done d) { t.n1->rewind(t.up2, d); });
  REQUIRE(r.error == "");
  auto prog = t.n1->clone_progress();
  CHECK(prog.tool == "pg_rewind");
  CHECK(prog.error == "");
  CHECK(prog.moved_aside_to == "");

  r = wait_op(loop.base, [&](pgctl::Done d) { t.n1->start(Role::standby, t.up2, d); });
  REQUIRE(r.error == "");
  s1 = probe_until(loop.base, *t.n1, [](const pgctl::Status& s) {
    return s.running && s.wal_receiver_streaming && s.timeline == 2;
  });
  CHECK(s1.in_recovery);
  CHECK(s1.timeline == 2);
  CHECK(s1.upstream_host == "127.0.4.22");

  q = sql(loop.base, local(t.o2), "INSERT INTO t VALUES ('new-primary-2')");
  REQUIRE(q.error == "");
  target = wait_probe(loop.base, *t.n2).current_lsn;
  s1 =
      probe_until(loop.base, *t.n1, [&](const pgctl::Status& s) { return s.replay_lsn >= target; });
  REQUIRE(s1.replay_lsn >= target);
  q = sql(loop.base, local(t.o1), "SELECT string_agg(v, ',' ORDER BY v) FROM t");
  REQUIRE(q.error == "");
  CHECK(q.at(0, 0) == "before,new-primary-1,new-primary-2");  // the diverged rows are gone

  // The new primary sees its new standby.
  s2 = probe_until(loop.base, *t.n2, [](const pgctl::Status& s) {
    return s.standbys.size() == 1 && s.slots.size() == 1 && s.slots[0].active;
  });
  REQUIRE(s2.standbys.size() == 1);
  CHECK(s2.standbys[0].application_name == "n1");
}
