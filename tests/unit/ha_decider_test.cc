// Unit tests for the decider: bootstrap (adopt, claim, claim timeout),
// failover ranking and exclusions, the seed's diagnostic, pause.
#include <catch2/catch.hpp>

#include "ha/decider.h"

using namespace pw::node;

namespace {
struct Fixture {
  ClusterState state;
  DeciderInput in;
  Fixture() {
    in.state = &state;
    in.members = {"n1", "n2", "n3"};
    in.self = "n1";
  }
  MemberStatus& report(const std::string& name, DataKind kind, bool fresh = true) {
    auto& s = in.seen[name];
    s.fresh = fresh;
    s.status.name = name;
    s.status.data = kind;
    return s.status;
  }
  MemberStatus& standby(const std::string& name, uint64_t lsn, uint32_t tl = 2) {
    auto& st = report(name, DataKind::cluster);
    st.system_id = 42;
    st.timeline = tl;
    st.lsn = lsn;
    st.pg_running = true;
    st.in_recovery = true;
    return st;
  }
  /// Failover in synchronous mode: n1's lease is gone, C is committed.
  void sync_failover(std::vector<std::string> C) {
    initialized("n1");
    in.lease_expired = true;
    in.synchronous_mode = true;
    state.sync = std::move(C);
  }
  void initialized(const std::string& primary) {
    state.init = InitKind::done;
    state.init_node = "n1";
    state.system_id = 42;
    state.primary = primary;
    state.epoch = 5;
    state.ready_epoch = 5;
  }
};
}  // namespace

TEST_CASE("bootstrap waits for a quorum of reports and names the silent members") {
  Fixture f;
  f.report("n1", DataKind::empty);
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);
  REQUIRE(d.diagnostics.size() == 1);
  CHECK(d.diagnostics[0].code == "waiting_for_members");
  CHECK(d.diagnostics[0].message.find("n2, n3") != std::string::npos);
}

TEST_CASE("a quorum of empty members: the decider claims, preferring itself") {
  Fixture f;
  f.report("n1", DataKind::empty);
  f.report("n2", DataKind::empty);
  Decision d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->type == CmdType::claim);
  CHECK(d.propose->node == "n1");
  f.state.failed_claimants.insert("n1");
  d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->node == "n2");
}

TEST_CASE("existing data is adopted: highest timeline then LSN wins") {
  Fixture f;
  f.report("n1", DataKind::empty);
  auto& a = f.report("n2", DataKind::cluster);
  a.timeline = 3;
  a.lsn = 100;
  a.system_id = 7;
  auto& b = f.report("n3", DataKind::cluster);
  b.timeline = 2;
  b.lsn = 900;
  b.system_id = 7;
  Decision d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->type == CmdType::adopt);
  CHECK(d.propose->node == "n2");
  CHECK(d.propose->system_id == 7);
}

TEST_CASE("adopting existing data never picks a member tagged nofailover") {
  // Issue 21 item 5: the adopter becomes primary, so the tag must hold here
  // too (it used to be ignored).
  Fixture f;
  f.report("n1", DataKind::empty);
  auto& dr = f.report("n2", DataKind::cluster);
  dr.timeline = 3;
  dr.lsn = 100;
  dr.system_id = 7;
  dr.nofailover = true;
  auto& ok = f.report("n3", DataKind::cluster);
  ok.timeline = 3;
  ok.lsn = 100;
  ok.system_id = 7;

  SECTION("an eligible member as advanced as the tagged one is adopted") {
    Decision d = decide(f.in);
    REQUIRE(d.propose);
    CHECK(d.propose->type == CmdType::adopt);
    CHECK(d.propose->node == "n3");  // n2 would win the name tie-break
  }
  SECTION("more data on the tagged member only: nothing is adopted, and the diagnostic says why") {
    dr.lsn = 200;
    Decision d = decide(f.in);
    CHECK_FALSE(d.propose);
    REQUIRE(d.diagnostics.size() == 1);
    CHECK(d.diagnostics[0].code == "adopt_blocked_nofailover");
    CHECK(d.diagnostics[0].message.find("n2") != std::string::npos);
    CHECK(d.diagnostics[0].action.find("n3") != std::string::npos);
  }
  SECTION("data only on the tagged member: no adoption, and no initdb beside it") {
    f.report("n3", DataKind::empty);
    Decision d = decide(f.in);
    CHECK_FALSE(d.propose);
    REQUIRE(d.diagnostics.size() == 1);
    CHECK(d.diagnostics[0].code == "adopt_no_eligible");
    CHECK(d.diagnostics[0].message.find("n2") != std::string::npos);
  }
}

TEST_CASE("a claim that outlives bootstrap_timeout is cleared") {
  Fixture f;
  f.state.init = InitKind::claimed;
  f.state.init_node = "n2";
  f.in.claim_age_ms = 1000;
  CHECK_FALSE(decide(f.in).propose);
  f.in.claim_age_ms = f.in.bootstrap_timeout_ms;
  Decision d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->type == CmdType::clear_claim);
  CHECK(d.propose->node == "n2");
}

TEST_CASE("no failover while the holder's lease runs") {
  Fixture f;
  f.initialized("n1");
  f.standby("n2", 1000);
  f.in.lease_expired = false;
  CHECK_FALSE(decide(f.in).propose);
}

TEST_CASE("failover picks the highest LSN, then priority, then name; CAS on the epoch") {
  Fixture f;
  f.initialized("n1");
  f.in.lease_expired = true;
  f.standby("n2", 1000);
  f.standby("n3", 2000);
  Decision d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->type == CmdType::set_primary);
  CHECK(d.propose->node == "n3");
  CHECK(d.propose->epoch == 5);
  f.standby("n2", 2000).priority = 5;
  CHECK(decide(f.in).propose->node == "n2");
  f.in.seen["n2"].status.priority = 0;
  CHECK(decide(f.in).propose->node == "n2");  // tie → name
}

TEST_CASE("candidates are excluded with a reason each") {
  Fixture f;
  f.initialized("n1");
  f.in.lease_expired = true;
  f.in.maximum_lag_on_failover = 100;
  f.standby("n2", 1000).nofailover = true;
  f.standby("n3", 500);                        // lags 500 behind n2's 1000
  auto& old = f.report("n1", DataKind::cluster, false);
  old.system_id = 42;
  old.lsn = 1000;
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);
  REQUIRE(d.diagnostics.size() == 1);
  CHECK(d.diagnostics[0].code == "no_failover_candidate");
  CHECK(d.diagnostics[0].message.find("n2: tagged nofailover") != std::string::npos);
  CHECK(d.diagnostics[0].message.find("n3: lag 500 bytes") != std::string::npos);

  // n3 has data too: no advice about the tag.
  CHECK(d.diagnostics[0].action.find("remove nofailover") == std::string::npos);
  // Only the tagged n2 has this cluster's data (sim_ha 655766885639:5): the
  // advice says how to lift the tag.
  f.report("n3", DataKind::empty);
  d = decide(f.in);
  REQUIRE(d.diagnostics.size() == 1);
  CHECK(d.diagnostics[0].code == "no_failover_candidate");
  CHECK(d.diagnostics[0].action.find("only n2 (tagged nofailover) holds") != std::string::npos);
  CHECK(d.diagnostics[0].action.find("remove nofailover from its [tags]") != std::string::npos);
  f.standby("n3", 500);

  Ranking r = rank_candidates(f.in, "n1");
  CHECK(r.excluded["n1"] == "current primary");
  f.standby("n3", 990).system_id = 43;
  r = rank_candidates(f.in, "n1");
  CHECK(r.excluded["n3"].find("another cluster") != std::string::npos);
}

TEST_CASE("synchronous mode only promotes from the committed sync set") {
  Fixture f;
  f.sync_failover({"n2"});
  f.standby("n2", 900);
  f.standby("n3", 1000);
  f.in.maximum_lag_on_failover = 1 << 20;
  Decision d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->node == "n2");
}

TEST_CASE("the seed's case is named, and resolved by reinit_when_all_empty") {
  Fixture f;
  f.initialized("");
  f.report("n1", DataKind::empty);
  f.report("n2", DataKind::empty);
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);
  REQUIRE(d.diagnostics.size() == 1);
  CHECK(d.diagnostics[0].code == "data_member_unreachable");  // n3 silent: it may hold the data
  f.in.reinit_when_all_empty = true;
  CHECK_FALSE(decide(f.in).propose);  // n3 silent: "every member" not proven
  f.report("n3", DataKind::empty);
  f.in.reinit_when_all_empty = false;
  d = decide(f.in);
  REQUIRE(d.diagnostics.size() == 1);
  CHECK(d.diagnostics[0].code == "init_done_no_data");
  CHECK(d.diagnostics[0].action.find("pgwarden ctl reset-cluster --confirm") != std::string::npos);
  f.in.reinit_when_all_empty = true;
  d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->type == CmdType::reset_cluster);
}

TEST_CASE("pause stops every automatic action") {
  Fixture f;
  f.initialized("n1");
  f.in.lease_expired = true;
  f.standby("n2", 1000);
  f.state.paused = true;
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);
  CHECK(d.diagnostics.at(0).code == "paused");
}

TEST_CASE("failover --to honours the target when it is eligible") {
  Fixture f;
  f.initialized("");
  f.state.switchover = std::make_pair(std::string(), std::string("n2"));
  f.standby("n2", 900);
  f.standby("n3", 1000);
  Decision d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->node == "n2");
}

// ---- issue 11: the holes the simulation and review found ----------------

TEST_CASE("I4: a lagging sync member is not promoted while another member of the set is silent") {
  // ANY 1 (n2, n3): the commit acknowledged last may be on n3 only. Old code
  // promoted n2 (fresh, in the set, within maximum_lag_on_failover).
  Fixture f;
  f.sync_failover({"n2", "n3"});
  f.standby("n2", 900);
  f.report("n3", DataKind::cluster, false);  // silent
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);
  REQUIRE_FALSE(d.diagnostics.empty());
  CHECK(d.diagnostics[0].message.find("n3") != std::string::npos);
  // Heard again, and more advanced: n3 (not the lagging n2) is promoted.
  f.standby("n3", 1000);
  f.in.seen["n3"].received_ms = 10;
  f.in.seen["n2"].received_ms = 10;
  d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->node == "n3");
}

TEST_CASE("I4: statuses older than the holder's end do not count") {
  Fixture f;
  f.sync_failover({"n2", "n3"});
  f.in.holder_gone_ms = 5000;
  f.in.status_lag_ms = 100;
  f.standby("n2", 1000);
  f.standby("n3", 900);
  f.in.seen["n2"].received_ms = 5200;
  f.in.seen["n3"].received_ms = 5050;  // may describe n3 before the last acknowledged commit
  CHECK_FALSE(decide(f.in).propose);
  f.in.seen["n3"].received_ms = 5101;
  Decision d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->node == "n2");
}

TEST_CASE("I4: a status that arrives late but carries an old probe does not count") {
  // sim_ha seed 635481766791: n5's agent was frozen (SIGSTOP) while its
  // PostgreSQL kept streaming and acknowledging commits for the primary.
  // Resumed after the holder stopped, it first gossiped the probe from
  // before its freeze (a lower LSN); counted as heard, it let the lagging n4
  // be promoted and the commits only n5 had were lost.
  Fixture f;
  f.sync_failover({"n4", "n5"});
  f.in.holder_gone_ms = 5000;
  f.in.status_lag_ms = 100;
  f.in.members = {"n1", "n2", "n3", "n4", "n5"};
  f.standby("n4", 3800);
  f.in.seen["n4"].received_ms = 6000;
  auto& n5 = f.standby("n5", 3700);
  f.in.seen["n5"].received_ms = 6000;
  n5.probe_age_ms = 5000;  // probed at 1000, long before the holder stopped
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);
  REQUIRE_FALSE(d.diagnostics.empty());
  CHECK(d.diagnostics[0].message.find("waiting to hear n5") != std::string::npos);
  n5.probe_age_ms = -1;  // no probe at all yet (a restarted agent): not heard either
  CHECK_FALSE(decide(f.in).propose);
  // Its next status carries a fresh probe: n5 is ahead and is promoted.
  n5.lsn = 4100;
  n5.probe_age_ms = 20;
  f.in.seen["n5"].received_ms = 6030;
  d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->node == "n5");
  // The age counts against the arrival: a probe from just before the end of
  // the holder's lease plus the lag does not count.
  n5.probe_age_ms = 940;  // 6030 - 940 = 5090 < 5000 + 100
  CHECK_FALSE(decide(f.in).propose);
}

TEST_CASE("I4: with the committed set empty only the last ready holder may come back") {
  Fixture f;
  f.initialized("");
  f.state.ready_epoch = 4;
  f.state.history.push_back({4, "n3", 2, 0, 0, "failover"});
  f.state.history.push_back({5, "", 2, 0, 0, "release: PostgreSQL on n3 died"});
  f.in.synchronous_mode = true;
  f.standby("n2", 1000);  // more WAL, but never confirmed by a synchronous ack
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);
  f.standby("n3", 900);
  d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->node == "n3");
}

TEST_CASE("operator failover is a request the decider carries out after the lease wait") {
  Fixture f;
  f.initialized("n1");
  f.state.failover_to = "n3";
  f.state.failover_epoch = 5;
  f.standby("n2", 1000);
  f.standby("n3", 100);  // lagging: the operator accepts it
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);  // the holder's lease still runs
  CHECK(d.diagnostics.at(0).code == "failover_waiting");
  f.in.lease_expired = true;
  f.in.maximum_lag_on_failover = 10;
  d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->type == CmdType::set_primary);
  CHECK(d.propose->node == "n3");
  f.state.paused = true;  // manual failover works in maintenance mode too
  CHECK(decide(f.in).propose);
}

TEST_CASE("set_primary carries the applied index and is refused if the holder renewed after it") {
  Fixture f;
  f.initialized("n1");
  f.in.lease_expired = true;
  f.in.applied_index = 70;
  f.standby("n2", 1000);
  Decision d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->seq == 70);
  ClusterState s = f.state;
  Command renew;
  renew.type = CmdType::renew;
  renew.node = "n1";
  renew.epoch = 5;
  REQUIRE(apply_command(s, renew, 71).applied);  // committed between decision and set_primary
  ApplyEffect e = apply_command(s, *d.propose, 72);
  CHECK_FALSE(e.applied);
  CHECK(s.primary == "n1");
  ClusterState t = f.state;
  REQUIRE(apply_command(t, renew, 69).applied);  // renewed before: the decision stands
  CHECK(apply_command(t, *d.propose, 72).applied);
  CHECK(t.primary == "n2");
}

TEST_CASE("a silent claimant loses its claim in seconds, with a diagnostic from the first doubt") {
  Fixture f;
  f.state.init = InitKind::claimed;
  f.state.init_node = "n2";
  f.in.now_ms = 100000;
  f.in.claim_age_ms = 10000;
  f.in.claimant_silence_ms = 3000;
  f.report("n2", DataKind::empty);  // reporting: nothing to do
  f.in.seen["n2"].received_ms = 99900;
  CHECK_FALSE(decide(f.in).propose);
  f.in.seen["n2"].fresh = false;    // silent for 1 s: doubt, said at once
  f.in.seen["n2"].received_ms = 99000;
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);
  REQUIRE_FALSE(d.diagnostics.empty());
  CHECK(d.diagnostics[0].code == "bootstrap_claimant_silent");
  f.in.seen["n2"].received_ms = 96500;  // silent for 3.5 s: the claim moves
  d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->type == CmdType::clear_claim);
  CHECK(d.propose->node == "n2");
}

TEST_CASE("an unreachable member may hold the data: no reset advice until every member reports empty") {
  Fixture f;
  f.initialized("n1");
  f.in.lease_expired = true;
  f.report("n2", DataKind::empty);
  f.report("n3", DataKind::empty);  // n1, the primary, is down with the only copy
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);
  REQUIRE(d.diagnostics.size() == 1);
  CHECK(d.diagnostics[0].code == "data_member_unreachable");
  CHECK(d.diagnostics[0].message.find("n1") != std::string::npos);
  CHECK(d.diagnostics[0].action.find("bring n1 back") == 0);
  f.in.reinit_when_all_empty = true;  // never resets with a member unheard
  CHECK_FALSE(decide(f.in).propose);
  f.report("n1", DataKind::empty);  // now every member says so: the seed's case
  f.in.reinit_when_all_empty = false;
  d = decide(f.in);
  REQUIRE(d.diagnostics.size() == 1);
  CHECK(d.diagnostics[0].code == "init_done_no_data");
}

// ---- issue 21 item 2: the quorum-commit rule and the operator's override ----

TEST_CASE("I4 quorum commit: with ANY 2 of C = {n2, n3, n4}, failover hears 2 of them and takes the most advanced") {
  // Every acknowledged commit is on 2 of the 3: any 2 heard include one
  // holder of it. Old code needed all of C, so a lost member of C blocked
  // the failover.
  Fixture f;
  f.in.members = {"n1", "n2", "n3", "n4", "n5"};
  f.sync_failover({"n2", "n3", "n4"});
  f.state.sync_acks = 2;
  CHECK(sync_needed(f.state) == 2);
  f.standby("n2", 900);
  f.report("n4", DataKind::cluster, false);  // gone with the primary
  f.standby("n5", 2000);                    // asynchronous: never a candidate, not needed
  f.report("n3", DataKind::cluster, false);
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);  // one heard of the two needed
  REQUIRE_FALSE(d.diagnostics.empty());
  CHECK(d.diagnostics[0].message.find("2 of the 3 members of the synchronous set must be heard, 1 were") !=
        std::string::npos);
  CHECK(d.diagnostics[0].action.find("--accept-data-loss") != std::string::npos);
  f.standby("n3", 1000);
  d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->node == "n3");  // the most advanced of those heard, not n2
  Ranking r = rank_candidates(f.in, "n1");
  CHECK(r.excluded["n2"].find("behind another synchronous standby") != std::string::npos);
  CHECK(r.excluded["n5"].find("asynchronous standby") != std::string::npos);
}

TEST_CASE("I4: a member of C whose PostgreSQL is stopped is not heard (its checkpoint LSN understates its WAL)") {
  // Old code counted n3's status: its checkpoint (500) said n2 (900) was the
  // most advanced, while n3 may have flushed and acknowledged past 900.
  Fixture f;
  f.sync_failover({"n2", "n3"});
  f.standby("n2", 900);
  auto& n3 = f.standby("n3", 500);
  n3.pg_running = false;
  n3.in_recovery = false;
  CHECK_FALSE(decide(f.in).propose);
  n3.pg_running = true;  // restarted: its status now reports its WAL
  n3.in_recovery = true;
  n3.lsn = 950;
  Decision d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->node == "n3");
}

TEST_CASE("a switchover may go to an asynchronous standby: it replays the final WAL before taking over") {
  Fixture f;
  f.initialized("n1");
  f.in.synchronous_mode = true;
  f.state.sync = {"n2"};
  f.standby("n2", 1000);
  f.standby("n3", 1000);
  Ranking r = rank_candidates(f.in, "n1", false);
  CHECK(r.excluded.count("n3") == 0);  // old code: "not in the synchronous standby set"
  CHECK(r.ranked.size() == 2);
}

TEST_CASE("failover --accept-data-loss: the synchronous rules are waived after the lease wait, and the history says so") {
  Fixture f;
  f.in.members = {"n1", "n2", "n3"};
  f.sync_failover({"n2"});  // n2, the only synchronous standby, is gone for good
  f.in.lease_expired = false;
  f.report("n2", DataKind::cluster, false);
  f.standby("n3", 900);
  f.state.failover_to = "n3";
  f.state.failover_epoch = 5;
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);
  CHECK(d.diagnostics.at(0).code == "failover_waiting");  // the lease first, as every failover
  f.in.lease_expired = true;
  d = decide(f.in);  // without the override: blocked, and the advice names it
  CHECK_FALSE(d.propose);
  REQUIRE_FALSE(d.diagnostics.empty());
  CHECK(d.diagnostics[0].code == "failover_request_blocked");
  CHECK(d.diagnostics[0].action.find("--accept-data-loss --confirm") != std::string::npos);
  f.state.failover_accept_loss = true;
  d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->type == CmdType::set_primary);
  CHECK(d.propose->node == "n3");
  CHECK(d.propose->reason.find("accepting the loss of acknowledged writes") != std::string::npos);
  CHECK(d.propose->reason.find("n2") != std::string::npos);  // what was not heard
  // Other rules still hold: a member whose PostgreSQL is down is not promoted.
  f.in.seen["n3"].status.pg_running = false;
  CHECK_FALSE(decide(f.in).propose);
  // Applied, the reason is in the history (`ctl history`) and the request is done.
  f.in.seen["n3"].status.pg_running = true;
  d = decide(f.in);
  REQUIRE(d.propose);
  REQUIRE(apply_command(f.state, *d.propose, 10).applied);
  CHECK(f.state.primary == "n3");
  CHECK(f.state.history.back().reason.find("accepting the loss") != std::string::npos);
  CHECK_FALSE(f.state.failover_accept_loss);
  CHECK(f.state.failover_to.empty());
}

TEST_CASE("I4: the last ready holder back with its PostgreSQL running covers every acknowledged commit") {
  // sim_ha seed 79975945033 (5 nodes, k = 1, strict): C = {n2}, whose data
  // was then moved aside by a reinit requested before it joined C; the old
  // primary n1 came back as a standby. Hearing n1 — it acknowledged every
  // commit — is enough; n2's empty directory is not "heard".
  Fixture f;
  f.initialized("");
  f.in.synchronous_mode = true;
  f.state.sync = {"n2"};
  f.state.history.push_back({5, "n1", 2, 0, 0, "failover"});
  f.report("n2", DataKind::empty);
  auto& n1 = f.standby("n1", 900);
  n1.pg_running = false;  // its checkpoint only: not enough
  CHECK_FALSE(decide(f.in).propose);
  n1.pg_running = true;
  Decision d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->node == "n1");
}

TEST_CASE("restarted daemons forget statuses; the recorded timeline still keeps a standby off a used id") {
  // n1 was promoted onto timeline 3 and was the ready primary there; it died
  // before n2 and n3 (on timeline 2) followed it. The operator restarts the
  // survivors' daemons: nobody reports timeline 3 any more (statuses are
  // soft state), but the replicated state still says it.
  Fixture f;
  f.initialized("n1");
  f.state.ready_timeline = 3;
  f.state.max_timeline = 3;
  f.state.history.push_back({5, "n1", 2, 0, 0, "failover: lease of n3 expired"});
  f.in.lease_expired = true;
  f.standby("n2", 1000, 2);
  f.standby("n3", 900, 2);
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);  // promoted, n2 would open a second timeline 3 (or lack n1's writes)
  REQUIRE(d.diagnostics.size() == 1);
  const Diagnostic& g = d.diagnostics[0];
  CHECK(g.code == "failover_blocked_timeline");
  CHECK(g.message.find("the newest timeline is 3 (n1), recorded in the cluster state") != std::string::npos);
  CHECK(g.message.find("n2, n3 only reached older timelines") != std::string::npos);
  CHECK(g.message.find("possibly acknowledged commits") != std::string::npos);
  CHECK(g.action.find("bring n1 back") != std::string::npos);
  CHECK(g.action.find("pgwarden ctl failover --to n2 --accept-data-loss") != std::string::npos);
  CHECK(g.action.find("onto timeline 4") != std::string::npos);
  Ranking r = rank_candidates(f.in, "n1");
  CHECK(r.timeline == 3);
  CHECK(r.behind == std::vector<std::string>{"n2", "n3"});
  CHECK(r.excluded["n2"] == "on an old timeline (2 < 3)");

  // An operator failover --to (without accepting the loss) is refused too.
  f.state.failover_to = "n2";
  f.state.failover_epoch = 5;
  f.state.paused = true;
  d = decide(f.in);
  CHECK_FALSE(d.propose);
  CHECK(d.diagnostics.at(0).code == "failover_request_blocked");

  // A member that did follow n1 onto timeline 3 reports again: it is the
  // candidate.
  f.state.failover_to.clear();
  f.state.paused = false;
  f.standby("n3", 1100, 3);
  d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->node == "n3");
}

TEST_CASE("a holder lost before ready blocks no candidate, and its successor is handed a higher id") {
  // n1 was named (epoch 5, handed timeline 3) and may have promoted, but it
  // never announced ready: no client wrote there. n2 on timeline 2, the last
  // ready timeline, may take over — onto timeline 4, never 3.
  Fixture f;
  f.initialized("n1");
  f.state.ready_epoch = 4;
  f.state.ready_timeline = 2;
  f.state.max_timeline = 3;
  f.in.lease_expired = true;
  f.standby("n2", 1000, 2);
  Decision d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->node == "n2");
  CHECK(d.propose->timeline == 2);
  ClusterState s = f.state;
  REQUIRE(apply_command(s, *d.propose, 10).applied);
  CHECK(promotion_floor(s) == 4);
}

TEST_CASE("the timeline diagnostic gives way to a synchronous-mode wait and to a running member on the newest timeline") {
  // decider.cc: failover_blocked_timeline only when no running member is on
  // the newest timeline and no synchronous-mode rule waits for someone
  // (ha_sync_quorum: members on the old timeline hid "waiting to hear n4"
  // behind "bring n1 back"). Old code (before 92fa2d9) always named the
  // timeline once a member was behind.
  Fixture f;
  f.in.members = {"n1", "n2", "n3", "n4"};
  f.sync_failover({"n4"});
  f.state.ready_timeline = 3;
  f.state.max_timeline = 3;
  f.state.history.push_back({5, "n1", 3, 0, 0, "failover"});
  f.standby("n2", 1000, 2);
  f.standby("n3", 900, 2);
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);
  REQUIRE(d.diagnostics.size() == 1);
  CHECK(d.diagnostics[0].code == "no_failover_candidate");
  CHECK(d.diagnostics[0].action.find("bring n4 back") != std::string::npos);
  CHECK(d.diagnostics[0].action.find("--accept-data-loss") != std::string::npos);

  // n4 heard (its PostgreSQL running, on timeline 3, tagged nofailover: never
  // promoted): nobody to wait for, but the newest timeline runs — the usual
  // diagnostic names each member's reason instead of "bring n1 back".
  auto& n4 = f.standby("n4", 1100, 3);
  n4.nofailover = true;
  d = decide(f.in);
  CHECK_FALSE(d.propose);
  REQUIRE(d.diagnostics.size() == 1);
  CHECK(d.diagnostics[0].code == "no_failover_candidate");
  CHECK(d.diagnostics[0].message.find("n4: tagged nofailover") != std::string::npos);

  // n4 gone again but not waited for (C empty, the last holder n1 heard
  // stopped): only now is the timeline what blocks.
  f.in.seen.erase("n4");
  f.state.sync.clear();
  f.in.synchronous_mode = false;
  d = decide(f.in);
  CHECK_FALSE(d.propose);
  REQUIRE(d.diagnostics.size() == 1);
  CHECK(d.diagnostics[0].code == "failover_blocked_timeline");
}

TEST_CASE("a failover request to a member behind the newest timeline is told about --accept-data-loss") {
  // --accept-data-loss waives the timeline rule (decide_requests), so the
  // blocked request's advice names it, paused or not; old advice: "fix the
  // reason above", which the operator cannot.
  Fixture f;
  f.initialized("n1");
  f.state.ready_timeline = 3;
  f.state.max_timeline = 3;
  f.in.lease_expired = true;
  f.standby("n2", 1000, 2);
  f.state.failover_to = "n2";
  f.state.failover_epoch = 5;
  f.state.paused = true;
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);
  REQUIRE(d.diagnostics.size() == 1);
  CHECK(d.diagnostics[0].code == "failover_request_blocked");
  CHECK(d.diagnostics[0].action.find("pgwarden ctl failover --to n2 --accept-data-loss") != std::string::npos);
  f.state.failover_accept_loss = true;
  d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->node == "n2");
}

TEST_CASE("member remove: a member marked for removal is never promoted nor chosen for a switchover") {
  Fixture f;
  f.initialized("n1");
  f.in.lease_expired = true;
  f.standby("n2", 1000);
  f.standby("n3", 2000);
  f.state.removing = "n3";
  Decision d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->type == CmdType::set_primary);
  CHECK(d.propose->node == "n2");  // n3 is the most advanced, but being removed
  Ranking r = rank_candidates(f.in, "n1", false);  // a switchover to "the best standby"
  CHECK(r.ranked == std::vector<std::string>{"n2"});
  CHECK(r.excluded.at("n3").find("being removed") != std::string::npos);
  // Synchronous mode: marked while still in C, it is heard (it may hold the
  // latest commits) but not promoted; the most advanced member of C being
  // removed blocks the failover until the removal ends (withdrawn, then it
  // is promoted).
  f.sync_failover({"n2", "n3"});
  f.state.removing = "n3";
  d = decide(f.in);
  CHECK_FALSE(d.propose);
  f.state.removing.clear();
  d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->node == "n3");
}

TEST_CASE("member remove: no bootstrap claim or adoption while a removal is pending") {
  Fixture f;
  f.report("n1", DataKind::empty);
  f.report("n2", DataKind::empty);
  f.state.removing = "n1";
  Decision d = decide(f.in);
  CHECK_FALSE(d.propose);
  REQUIRE(d.diagnostics.size() == 1);
  CHECK(d.diagnostics[0].code == "removal_pending");
  f.state.removing.clear();
  d = decide(f.in);
  REQUIRE(d.propose);
  CHECK(d.propose->type == CmdType::claim);
}
