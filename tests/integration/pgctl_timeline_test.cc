// tests/integration/pgctl_timeline_test.cc — promotion above a timeline
// floor (issue 21, item 1): the cluster recorded timeline 3 (a primary lost
// before its standbys followed it there), so a standby still on timeline 1
// is promoted with min_timeline 4. PostgreSQL alone would pick 2 (the only
// history it knows is its own); with pgctl's placeholder histories it lands
// on 4, takes writes, and another standby of timeline 1 follows it there —
// fetching the placeholders with the real history — and restarts as a
// standby. Placeholders a promotion left unused are removed before a
// standby starts (they would make its start fatal), real ones never.
#include <catch2/catch.hpp>

#include "pgctl/fs.h"
#include "pgctl/postgres.h"
#include "pgctl/timeline_files.h"
#include "support/pgctl_harness.h"

using namespace pw;
using namespace pw::test;
using pgctl::Role;

namespace {

bool starts_with_marker(const std::string& path) {
  return read_text(path).rfind(pgctl::kPlaceholderMarker, 0) == 0;
}

}  // namespace

TEST_CASE("a standby on timeline 1 promoted with a floor of 4 lands on 4, works, and is followed") {
  TempDir td("pgctl-timeline");
  ProcessReaper reaper(td.path());
  Loop loop;
  const std::vector<std::string> addrs = {"127.0.48.21", "127.0.48.22", "127.0.48.23"};
  auto o1 = node_options(td.path(), "n1", addrs[0], addrs);
  auto o2 = node_options(td.path(), "n2", addrs[1], addrs);
  auto o3 = node_options(td.path(), "n3", addrs[2], addrs);
  auto n1 = pgctl::Postgres::create(loop.base, o1);
  auto n2 = pgctl::Postgres::create(loop.base, o2);
  auto n3 = pgctl::Postgres::create(loop.base, o3);
  const pgctl::Upstream up1{addrs[0], 15432}, up2{addrs[1], 15432};

  // n1 primary on timeline 1; n2 and n3 its streaming standbys.
  auto r = wait_op(loop.base, [&](pgctl::Done d) { n1->initdb(d); });
  REQUIRE(r.error == "");
  r = wait_op(loop.base, [&](pgctl::Done d) { n1->start(Role::primary, {}, d); });
  REQUIRE(r.error == "");
  r = wait_op(loop.base, [&](pgctl::Done d) { n1->ensure_replication_role(d); });
  REQUIRE(r.error == "");
  r = wait_op(loop.base, [&](pgctl::Done d) {
    n1->sync_slots({pgctl::Postgres::slot_name("n2"), pgctl::Postgres::slot_name("n3")}, d);
  });
  REQUIRE(r.error == "");
  for (auto* n : {n2.get(), n3.get()}) {
    r = wait_op(loop.base, [&](pgctl::Done d) { n->basebackup(up1, d); });
    REQUIRE(r.error == "");
    r = wait_op(loop.base, [&](pgctl::Done d) { n->start(Role::standby, up1, d); });
    REQUIRE(r.error == "");
  }
  auto q = sql(loop.base, local(o1), "CREATE TABLE t (v text)");
  REQUIRE(q.error == "");
  q = sql(loop.base, local(o1), "INSERT INTO t VALUES ('before')");
  REQUIRE(q.error == "");
  const uint64_t target = wait_probe(loop.base, *n1).current_lsn;
  for (auto* n : {n2.get(), n3.get()}) {
    auto st =
        probe_until(loop.base, *n, [&](const pgctl::Status& s) { return s.replay_lsn >= target; });
    REQUIRE(st.replay_lsn >= target);
    CHECK(st.timeline == 1);
  }

  // n1 is lost (the cluster recorded timeline 3 for the primary it lost).
  r = wait_op(loop.base, [&](pgctl::Done d) { n1->stop(pgctl::StopMode::immediate, d); });
  REQUIRE(r.error == "");

  r = wait_op(loop.base, [&](pgctl::Done d) { n2->promote(4, d); });
  REQUIRE(r.error == "");
  CHECK(r.timeline == 4);
  auto s2 = wait_probe(loop.base, *n2);
  CHECK_FALSE(s2.in_recovery);
  CHECK(s2.timeline == 4);
  const std::string wal2 = o2.data_dir + "/pg_wal/";
  CHECK(starts_with_marker(wal2 + "00000002.history"));
  CHECK(starts_with_marker(wal2 + "00000003.history"));
  // Timeline 4's history is PostgreSQL's own: forked from timeline 1.
  const std::string h4 = read_text(wal2 + "00000004.history");
  CHECK(h4.rfind("1\t", 0) == 0);
  CHECK(h4.find("pgwarden") == std::string::npos);
  q = sql(loop.base, local(o2), "INSERT INTO t VALUES ('after')");
  REQUIRE(q.error == "");

  // Asked again with a floor it is below, the primary refuses to count as
  // promoted: the caller must not announce it.
  r = wait_op(loop.base, [&](pgctl::Done d) { n2->promote(9, d); });
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.error, Catch::Contains("timeline 4, below the 9 required"));
  r = wait_op(loop.base, [&](pgctl::Done d) { n2->promote(4, d); });
  CHECK(r.error == "");
  CHECK(r.timeline == 4);

  // n3, a standby of timeline 1, follows n2 onto timeline 4.
  r = wait_op(loop.base,
              [&](pgctl::Done d) { n2->sync_slots({pgctl::Postgres::slot_name("n3")}, d); });
  REQUIRE(r.error == "");
  r = wait_op(loop.base, [&](pgctl::Done d) { n3->follow(up2, d); });
  REQUIRE(r.error == "");
  const uint64_t after = wait_probe(loop.base, *n2).current_lsn;
  auto s3 = probe_until(loop.base, *n3, [&](const pgctl::Status& s) {
    return s.wal_receiver_streaming && s.timeline == 4 && s.replay_lsn >= after;
  });
  REQUIRE(s3.timeline == 4);
  q = sql(loop.base, local(o3), "SELECT string_agg(v, ',' ORDER BY v) FROM t");
  REQUIRE(q.error == "");
  CHECK(q.at(0, 0) == "after,before");
  const std::string wal3 = o3.data_dir + "/pg_wal/";
  CHECK(starts_with_marker(wal3 + "00000002.history"));  // fetched with the real one
  CHECK(starts_with_marker(wal3 + "00000003.history"));
  CHECK_FALSE(starts_with_marker(wal3 + "00000004.history"));

  // It restarts as a standby: placeholders below a real history stay.
  r = wait_op(loop.base, [&](pgctl::Done d) { n3->stop(pgctl::StopMode::fast, d); });
  REQUIRE(r.error == "");
  // A promotion that never happened left placeholders above every real
  // history: PostgreSQL would target timeline 6 at startup and never
  // become consistent ("unexpected timeline ID ... in log segment").
  std::vector<uint32_t> written;
  std::string err;
  REQUIRE(pgctl::reserve_timeline_ids(o3.data_dir, 5, 6, &written, &err));
  REQUIRE(written == std::vector<uint32_t>{5, 6});
  r = wait_op(loop.base, [&](pgctl::Done d) { n3->start(Role::standby, up2, d); });
  REQUIRE(r.error == "");
  CHECK_FALSE(pgctl::file_exists(wal3 + "00000005.history"));
  CHECK_FALSE(pgctl::file_exists(wal3 + "00000006.history"));
  CHECK(starts_with_marker(wal3 + "00000002.history"));
  CHECK(starts_with_marker(wal3 + "00000003.history"));
  q = sql(loop.base, local(o2), "INSERT INTO t VALUES ('later')");
  REQUIRE(q.error == "");
  const uint64_t later = wait_probe(loop.base, *n2).current_lsn;
  s3 = probe_until(loop.base, *n3, [&](const pgctl::Status& s) {
    return s.wal_receiver_streaming && s.timeline == 4 && s.replay_lsn >= later;
  });
  CHECK(s3.replay_lsn >= later);
  CHECK(s3.in_recovery);

  // A promotion of n3 now, with a floor at its own timeline, needs no
  // placeholder: PostgreSQL's own choice (5) is above it.
  r = wait_op(loop.base, [&](pgctl::Done d) { n3->promote(5, d); });
  REQUIRE(r.error == "");
  CHECK(r.timeline == 5);
  CHECK_FALSE(pgctl::file_exists(wal2 + "pgwarden-placeholder.tmp"));
  CHECK_FALSE(starts_with_marker(wal3 + "00000005.history"));

  for (auto* n : {n1.get(), n2.get(), n3.get()}) {
    r = wait_op(loop.base, [&](pgctl::Done d) { n->stop(pgctl::StopMode::fast, d); });
    CHECK(r.error == "");
  }
}
