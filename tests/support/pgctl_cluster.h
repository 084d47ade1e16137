// tests/support/pgctl_cluster.h — a primary and a cloned, streaming standby
// built through pgctl for the replication tests (header-only).
#pragma once

#include <catch2/catch.hpp>

#include "support/pgctl_harness.h"

namespace pw::test {

struct TwoNodes {
  pgctl::PgOptions o1, o2;
  std::unique_ptr<pgctl::Postgres> n1, n2;
  pgctl::Upstream up1, up2;
};

/// n1: initdb + start primary + replication role + slot for n2;
/// n2: basebackup from n1 + start as standby of n1, streaming.
inline void build_two_nodes(event_base* base, const std::string& root, TwoNodes& t,
                            const std::string& addr1, const std::string& addr2) {
  t.o1 = node_options(root, "n1", addr1, {addr1, addr2});
  t.o2 = node_options(root, "n2", addr2, {addr1, addr2});
  t.n1 = pgctl::Postgres::create(base, t.o1);
  t.n2 = pgctl::Postgres::create(base, t.o2);
  t.up1 = {addr1, 15432};
  t.up2 = {addr2, 15432};
  auto r = wait_op(base, [&](pgctl::Done d) { t.n1->initdb(d); });
  REQUIRE(r.error == "");
  r = wait_op(base, [&](pgctl::Done d) { t.n1->start(pgctl::Role::primary, {}, d); });
  REQUIRE(r.error == "");
  r = wait_op(base, [&](pgctl::Done d) { t.n1->ensure_replication_role(d); });
  REQUIRE(r.error == "");
  r = wait_op(base,
              [&](pgctl::Done d) { t.n1->sync_slots({pgctl::Postgres::slot_name("n2")}, d); });
  REQUIRE(r.error == "");
  r = wait_op(base, [&](pgctl::Done d) { t.n2->basebackup(t.up1, d); });
  REQUIRE(r.error == "");
  auto info = t.n2->inspect();
  REQUIRE(info.kind == pgctl::DataDirInfo::Kind::cluster);
  REQUIRE(info.system_id == t.n1->inspect().system_id);
  REQUIRE(info.was_standby);  // configured for n2 right after the copy
  REQUIRE(read_text(t.o2.data_dir + "/pgwarden.conf").find("listen_addresses = '" + addr2 + "'") !=
          std::string::npos);
  r = wait_op(base, [&](pgctl::Done d) { t.n2->start(pgctl::Role::standby, t.up1, d); });
  REQUIRE(r.error == "");
  auto st = probe_until(
      base, *t.n2, [](const pgctl::Status& s) { return s.running && s.wal_receiver_streaming; });
  REQUIRE(st.error == "");
  REQUIRE(st.wal_receiver_streaming);
}

}  // namespace pw::test
