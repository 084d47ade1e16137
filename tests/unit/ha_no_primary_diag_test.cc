// Unit tests for issue 21's diagnostics: a cluster without a writable
// primary always says why and what to do — the decider names the rule
// (holder fenced or silent, promotion, switchover, synchronous mode waiting
// for a member), and every node adds `no_writable_primary` when nothing
// else explains its route's lack of a primary (name_missing_primary), so
// neither "all clear" in the log nor an empty diagnostics list can show.
#include <catch2/catch.hpp>

#include "ha/agent_diagnostics.h"
#include "ha/decider.h"

using namespace pw::node;

namespace {

struct Fixture {
  ClusterState state;
  DeciderInput in;
  Fixture() {
    in.state = &state;
    in.members = {"n1", "n2", "n3"};
    in.self = "n2";
    in.now_ms = 100000;
    in.holder_gone_ms = 102000;  // the lease of the holder (if any) runs 2 s more
    state.init = InitKind::done;
    state.init_node = "n1";
    state.system_id = 42;
    state.primary = "n1";
    state.epoch = 5;
    state.ready_epoch = 5;
  }
  MemberStatus& member(const std::string& name, bool fresh = true) {
    auto& s = in.seen[name];
    s.fresh = fresh;
    s.received_ms = in.now_ms;
    s.status.name = name;
    s.status.data = DataKind::cluster;
    s.status.system_id = 42;
    s.status.timeline = 2;
    s.status.lsn = 1000;
    s.status.pg_running = true;
    s.status.in_recovery = name != state.primary;
    s.status.serving_known = true;
    s.status.serving = name == state.primary;
    return s.status;
  }
  const Diagnostic* find(const Decision& d, const std::string& code) {
    for (const auto& x : d.diagnostics)
      if (x.code == code) return &x;
    return nullptr;
  }
};

}  // namespace

TEST_CASE("a holder whose PostgreSQL stopped is named, with when a failover becomes possible") {
  // Issue 21: the primary fenced itself and its lease was confirmed again;
  // every member said "all clear" while nothing accepted writes.
  Fixture f;
  MemberStatus& h = f.member("n1");
  f.member("n2");
  f.member("n3");
  h.serving = false;
  h.agent_state = "fencing: demoting PostgreSQL";
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);
  const Diagnostic* x = f.find(d, "primary_not_serving");
  REQUIRE(x);
  CHECK(x->message.find("n1 holds the lock (epoch 5)") != std::string::npos);
  CHECK(x->message.find("fencing") != std::string::npos);
  CHECK(x->message.find("within 2 s") != std::string::npos);
  CHECK_FALSE(x->action.empty());
  // Serving again: nothing to say.
  h.serving = true;
  CHECK(decide(f.in).diagnostics.empty());
}

TEST_CASE("a silent holder, a promotion and a switchover are named while the lease runs") {
  Fixture f;
  f.member("n1", false);
  f.member("n2");
  Decision d = decide(f.in);
  REQUIRE(f.find(d, "primary_silent"));
  CHECK(f.find(d, "primary_silent")->action.find("n1") != std::string::npos);

  f.member("n1");
  f.state.ready_epoch = 4;
  REQUIRE(f.find(decide(f.in), "promotion_in_progress"));

  f.state.ready_epoch = 5;
  f.state.switchover = std::make_pair(std::string("n1"), std::string("n3"));
  d = decide(f.in);
  REQUIRE(f.find(d, "switchover_in_progress"));
  CHECK(f.find(d, "switchover_in_progress")->message.find("n1 to n3") != std::string::npos);
}

TEST_CASE("synchronous mode names the member it waits to hear, and how to bring it back") {
  Fixture f;
  f.in.synchronous_mode = true;
  f.in.lease_expired = true;
  f.in.holder_gone_ms = 99000;
  f.state.sync = {"n2", "n3"};
  f.member("n1", false);
  MemberStatus& n3 = f.member("n3");
  n3.probe_age_ms = 0;
  f.member("n2", false);  // isolated: may hold the latest acknowledged commit
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);
  const Diagnostic* x = f.find(d, "no_failover_candidate");
  REQUIRE(x);
  CHECK(x->message.find("synchronous mode: waiting to hear n2, which may hold the latest acknowledged commit") !=
        std::string::npos);
  CHECK(x->action.find("bring n2 back") != std::string::npos);
}

TEST_CASE("never silent while no primary accepts writes: every such state has a diagnostic") {
  // A grid over what can keep clients from writing, as the raft leader
  // sees it. Whenever the decider proposes nothing and no primary would
  // accept writes, some diagnostic names the cause.
  int checked = 0;
  for (int primary = 0; primary < 2; ++primary)
    for (int ready = 0; ready < 2; ++ready)
      for (int fresh = 0; fresh < 2; ++fresh)
        for (int serving = 0; serving < 2; ++serving)
          for (int expired = 0; expired < 2; ++expired)
            for (int sync = 0; sync < 2; ++sync)
              for (int standbys = 0; standbys < 3; ++standbys) {
                Fixture f;
                if (!primary) f.state.primary.clear();
                if (!ready) f.state.ready_epoch = 4;
                f.in.synchronous_mode = sync;
                f.in.lease_expired = expired && primary;
                if (f.in.lease_expired) f.in.holder_gone_ms = 99000;
                if (sync) f.state.sync = {"n2", "n3"};
                if (primary) {
                  MemberStatus& h = f.member("n1", fresh);
                  h.serving = serving;
                }
                // 0: no standby heard; 1: n2 only; 2: both, up to date
                if (standbys >= 1) f.member("n2").probe_age_ms = 0;
                if (standbys >= 2) f.member("n3").probe_age_ms = 0;
                Decision d = decide(f.in);
                bool writable = primary && ready && fresh && serving && !f.in.lease_expired;
                if (writable || d.propose) continue;
                ++checked;
                INFO("primary=" << primary << " ready=" << ready << " fresh=" << fresh << " serving=" << serving
                                << " expired=" << expired << " sync=" << sync << " standbys=" << standbys);
                CHECK_FALSE(d.diagnostics.empty());
              }
  CHECK(checked > 20);
}

TEST_CASE("a node without a writable route names it after a loop, unless a diagnostic already does") {
  Diagnostics d;
  name_missing_primary(d, 0, 250, "x");  // a primary is writable
  CHECK(d.empty());
  name_missing_primary(d, 100, 250, "no quorum");  // less than a loop: an election, maybe
  CHECK(d.empty());
  name_missing_primary(d, 300, 250, "the leader does not confirm the primary's lease");
  REQUIRE(d.size() == 1);
  CHECK(d[0].code == "no_writable_primary");
  CHECK(d[0].message.find("the leader does not confirm the primary's lease") != std::string::npos);
  CHECK_FALSE(d[0].action.empty());

  // A diagnostic about this node alone does not explain the cluster.
  Diagnostics local{{"fencer_down", "m", "a"}};
  name_missing_primary(local, 300, 250, "r");
  REQUIRE(local.size() == 2);
  CHECK(local[1].code == "no_writable_primary");
  // The decider's (or no_quorum) does: not repeated.
  Diagnostics named{{"primary_not_serving", "m", "a"}};
  name_missing_primary(named, 300, 250, "r");
  CHECK(named.size() == 1);
}
