// Unit tests for the replicated cluster state: command round-trips,
// compare-and-set on epochs, snapshot round-trip, totality of decoders.
#include <catch2/catch.hpp>

#include <random>

#include "ha/cluster_state.h"
#include "support/ha_commands.h"

using namespace pw::node;


TEST_CASE("command encode/decode round-trips every field") {
  Command c = cmd(CmdType::set_primary, "n2", 7, "n3");
  c.seq = 9;
  c.system_id = 0x1234567890ull;
  c.timeline = 3;
  c.lsn = 0xABCDEF;
  c.flag = true;
  c.wall_ms = 1700000000000;
  c.reason = "failover: test";
  c.members = {"n1", "n3"};
  auto d = Command::decode(c.encode());
  REQUIRE(d);
  CHECK(d->encode() == c.encode());
  CHECK(d->node == "n2");
  CHECK(d->members == std::vector<std::string>{"n1", "n3"});
}

TEST_CASE("decoders are total on arbitrary bytes") {
  std::mt19937 rng(42);
  Command c = cmd(CmdType::renew, "n1", 3);
  std::string good = c.encode();
  for (int i = 0; i < 20000; ++i) {
    std::string b = good;
    int mode = i % 3;
    if (mode == 0) b.resize(rng() % (good.size() + 1));
    else if (mode == 1) b[rng() % b.size()] = static_cast<char>(rng());
    else { b.assign(rng() % 64, '\0'); for (auto& ch : b) ch = static_cast<char>(rng()); }
    (void)Command::decode(b);
    (void)ClusterState::decode(b);
  }
  CHECK_FALSE(Command::decode(good.substr(0, good.size() - 1)));
  CHECK_FALSE(Command::decode(good + "x"));
}

TEST_CASE("bootstrap: one claim, only the claimant completes it") {
  ClusterState s;
  CHECK(apply_command(s, cmd(CmdType::claim, "n1"), 5).applied);
  CHECK(s.init == InitKind::claimed);
  CHECK(s.claim_index == 5);
  CHECK_FALSE(apply_command(s, cmd(CmdType::claim, "n2"), 6).applied);  // I5: one owner
  CHECK(s.init_node == "n1");
  Command done = cmd(CmdType::bootstrap_done, "n2");
  CHECK_FALSE(apply_command(s, done, 7).applied);
  done.node = "n1";
  done.system_id = 99;
  CHECK(apply_command(s, done, 8).applied);
  CHECK(s.init == InitKind::done);
  CHECK(s.primary == "n1");
  CHECK(s.epoch == 1);
  CHECK(s.system_id == 99);
}

TEST_CASE("a cleared claim is remembered and the next claim may go elsewhere") {
  ClusterState s;
  apply_command(s, cmd(CmdType::claim, "n1"), 1);
  CHECK(apply_command(s, cmd(CmdType::clear_claim, "n1"), 2).applied);
  CHECK(s.init == InitKind::absent);
  CHECK(s.failed_claimants.count("n1"));
  // The late bootstrap_done of the old claimant is rejected.
  Command late = cmd(CmdType::bootstrap_done, "n1");
  CHECK_FALSE(apply_command(s, late, 3).applied);
  CHECK(apply_command(s, cmd(CmdType::claim, "n2"), 4).applied);
}

TEST_CASE("set_primary is a compare-and-set on the epoch") {
  ClusterState s;
  Command a = cmd(CmdType::adopt, "n1");
  a.system_id = 5;
  apply_command(s, a, 1);
  REQUIRE(s.epoch == 1);
  Command sp = cmd(CmdType::set_primary, "n2", 0);  // stale decider
  CHECK_FALSE(apply_command(s, sp, 2).applied);
  CHECK(s.primary == "n1");
  sp.epoch = 1;
  sp.reason = "failover: lease of n1 expired";
  CHECK(apply_command(s, sp, 3).applied);
  CHECK(s.primary == "n2");
  CHECK(s.epoch == 2);
  CHECK(s.failovers == 1);
  // The deposed holder can neither renew, nor declare ready, nor release.
  CHECK_FALSE(apply_command(s, cmd(CmdType::renew, "n1", 1), 4).applied);
  CHECK_FALSE(apply_command(s, cmd(CmdType::renew, "n1", 2), 4).applied);
  CHECK_FALSE(apply_command(s, cmd(CmdType::ready, "n1", 2), 5).applied);
  CHECK_FALSE(apply_command(s, cmd(CmdType::release, "n1", 2), 6).applied);
  CHECK(apply_command(s, cmd(CmdType::ready, "n2", 2), 7).applied);
  CHECK(s.ready_epoch == 2);
}

TEST_CASE("release with a successor is a handoff that bumps the epoch") {
  ClusterState s;
  Command a = cmd(CmdType::adopt, "n1");
  apply_command(s, a, 1);
  Command so = cmd(CmdType::switchover, "n1", 0, "n3");
  CHECK(apply_command(s, so, 2).applied);
  REQUIRE(s.switchover);
  CHECK(apply_command(s, cmd(CmdType::release, "n1", 1, "n3"), 3).applied);
  CHECK(s.primary == "n3");
  CHECK(s.epoch == 2);
  CHECK_FALSE(s.switchover);
  CHECK(s.switchovers == 1);
  CHECK(s.history.back().node == "n3");
}

TEST_CASE("reset-cluster forgets init but never lowers the epoch") {
  ClusterState s;
  Command a = cmd(CmdType::adopt, "n1");
  apply_command(s, a, 1);
  uint64_t e = s.epoch;
  apply_command(s, cmd(CmdType::reset_cluster, ""), 2);
  CHECK(s.init == InitKind::absent);
  CHECK(s.primary.empty());
  CHECK(s.epoch > e);
}

TEST_CASE("snapshot round-trip reproduces the state exactly") {
  ClusterState s;
  apply_command(s, cmd(CmdType::claim, "n1"), 1);
  apply_command(s, cmd(CmdType::clear_claim, "n1"), 2);
  apply_command(s, cmd(CmdType::claim, "n2"), 3);
  Command done = cmd(CmdType::bootstrap_done, "n2");
  done.system_id = 77;
  apply_command(s, done, 4);
  apply_command(s, cmd(CmdType::switchover, "n2", 0, "n3"), 5);
  apply_command(s, cmd(CmdType::reinit, "n1"), 6);
  Command sync = cmd(CmdType::set_sync, "", 1);
  sync.members = {"n1", "n3"};
  sync.seq = 2;  // ANY 2
  apply_command(s, sync, 7);
  apply_command(s, cmd(CmdType::pause, ""), 8);
  Command fo = cmd(CmdType::request_failover, "n1", 1);
  fo.flag = true;  // --accept-data-loss
  REQUIRE(apply_command(s, fo, 9).applied);
  CHECK(s.sync_acks == 2);
  CHECK(s.failover_accept_loss);
  auto r = ClusterState::decode(s.encode());
  REQUIRE(r);
  CHECK(*r == s);

  ClusterStateMachine sm;
  CHECK(sm.restore(s.encode()));
  CHECK(sm.state() == s);
  CHECK_FALSE(sm.restore("garbage"));
  CHECK(sm.state() == s);
}

TEST_CASE("timelines: each new holder is handed the next id before it promotes; ready records the one it writes on") {
  ClusterState s;
  apply_command(s, cmd(CmdType::claim, "n1"), 1);
  Command done = cmd(CmdType::bootstrap_done, "n1");
  done.system_id = 9;
  apply_command(s, done, 2);
  CHECK(s.max_timeline == 1);  // initdb: timeline 1, nothing promoted
  CHECK(s.ready_timeline == 0);
  Command ready = cmd(CmdType::ready, "n1", 1);
  ready.timeline = 1;
  REQUIRE(apply_command(s, ready, 3).applied);
  CHECK(s.ready_timeline == 1);

  // Failover to n2 (on timeline 1): timeline 2 is n2's before it promotes,
  // so a holder lost between its promotion and its `ready` leaves it taken.
  Command sp = cmd(CmdType::set_primary, "n2", 1);
  sp.timeline = 1;
  sp.reason = "failover: lease of n1 expired";
  REQUIRE(apply_command(s, sp, 4).applied);
  CHECK(s.max_timeline == 2);
  CHECK(promotion_floor(s) == 2);
  CHECK(s.ready_timeline == 1);  // not ready yet: candidates on 1 stay eligible

  // n2 is lost before `ready`; n3 (on timeline 1) is named next: it is handed
  // 3, above the id n2 may have used.
  Command sp2 = cmd(CmdType::set_primary, "n3", 2);
  sp2.timeline = 1;
  REQUIRE(apply_command(s, sp2, 5).applied);
  CHECK(promotion_floor(s) == 3);
  ready = cmd(CmdType::ready, "n3", 3);
  ready.timeline = 3;
  REQUIRE(apply_command(s, ready, 6).applied);
  CHECK(s.ready_timeline == 3);
  CHECK(s.max_timeline == 3);

  // A holder on a higher timeline than handed out (its archive knew more):
  // the record follows it. A `ready` without a timeline (an older agent)
  // keeps the record.
  Command so = cmd(CmdType::release, "n3", 3, "n1");
  REQUIRE(apply_command(s, so, 7).applied);
  CHECK(promotion_floor(s) == 4);
  ready = cmd(CmdType::ready, "n1", 4);
  ready.timeline = 6;
  REQUIRE(apply_command(s, ready, 8).applied);
  CHECK(s.ready_timeline == 6);
  CHECK(s.max_timeline == 6);
  Command sp3 = cmd(CmdType::set_primary, "n2", 4);
  sp3.timeline = 6;
  REQUIRE(apply_command(s, sp3, 9).applied);
  REQUIRE(apply_command(s, cmd(CmdType::ready, "n2", 5), 10).applied);
  CHECK(s.ready_timeline == 6);
  CHECK(s.max_timeline == 7);

  // A rejected set_primary (stale epoch) hands nothing out.
  Command stale = cmd(CmdType::set_primary, "n3", 1);
  stale.timeline = 9;
  CHECK_FALSE(apply_command(s, stale, 11).applied);
  CHECK(s.max_timeline == 7);

  // The record survives a snapshot (a restart of every daemon)...
  auto back = ClusterState::decode(s.encode());
  REQUIRE(back);
  CHECK(back->ready_timeline == 6);
  CHECK(back->max_timeline == 7);

  // ... and a reset-cluster (a new system id) starts over at timeline 1.
  apply_command(s, cmd(CmdType::reset_cluster, ""), 12);
  CHECK(s.ready_timeline == 0);
  CHECK(s.max_timeline == 0);
}

TEST_CASE("adopting existing data hands out the id above the adopted timeline") {
  ClusterState s;
  Command a = cmd(CmdType::adopt, "n2");
  a.system_id = 5;
  a.timeline = 4;  // a standby's directory on timeline 4 is promoted onto 5
  REQUIRE(apply_command(s, a, 1).applied);
  CHECK(promotion_floor(s) == 5);
}

TEST_CASE("snapshots of earlier versions still decode, with no timeline recorded") {
  ClusterState s;
  Command a = cmd(CmdType::adopt, "n1");
  a.system_id = 5;
  a.timeline = 2;
  apply_command(s, a, 1);
  Command ready = cmd(CmdType::ready, "n1", 1);
  ready.timeline = 3;
  apply_command(s, ready, 2);
  apply_command(s, cmd(CmdType::request_failover, "n2", 1), 3);
  REQUIRE(s.max_timeline == 3);
  // Version 6 appends the day-two schedules (empty here: a u32 count and a
  // bool); without them it is version 5.
  const std::string v6 = s.encode();
  REQUIRE(v6[0] == 6);
  std::string v5 = v6.substr(0, v6.size() - 5);
  v5[0] = 5;
  REQUIRE(ClusterState::decode(v5));
  // Every version appends its fields at the end: version 4 is version 5
  // without the pending removal (two empty strings: their u32 lengths),
  // version 3 is version 4
  // without the two timelines, version 2 also without q and the accepted
  // loss, version 1 also without the operator requests and the renewal index.
  std::string v4 = v5.substr(0, v5.size() - 8);
  v4[0] = 4;
  auto d4 = ClusterState::decode(v4);
  REQUIRE(d4);
  CHECK(d4->max_timeline == 3);
  CHECK(d4->removing.empty());
  std::string v3 = v4.substr(0, v4.size() - 8);
  v3[0] = 3;
  auto d3 = ClusterState::decode(v3);
  REQUIRE(d3);
  CHECK(d3->primary == "n1");
  CHECK(d3->failover_to == "n2");
  CHECK(d3->ready_timeline == 0);
  CHECK(d3->max_timeline == 0);
  std::string v2 = v3.substr(0, v3.size() - 5);
  v2[0] = 2;
  auto d2 = ClusterState::decode(v2);
  REQUIRE(d2);
  CHECK(d2->failover_to == "n2");
  CHECK(d2->max_timeline == 0);
  std::string v1 = v2.substr(0, v2.size() - (4 + 2) - 8 - 1 - 8);
  v1[0] = 1;
  auto d1 = ClusterState::decode(v1);
  REQUIRE(d1);
  CHECK(d1->primary == "n1");
  CHECK(d1->failover_to.empty());
  CHECK(d1->max_timeline == 0);
  // A version-4 body under a version-3 byte, a version-5 body under a
  // version-4 byte, or a newer version: refused.
  std::string wrong = v4;
  wrong[0] = 3;
  CHECK_FALSE(ClusterState::decode(wrong));
  wrong = v5;
  wrong[0] = 4;
  CHECK_FALSE(ClusterState::decode(wrong));
  wrong[0] = 6;
  CHECK_FALSE(ClusterState::decode(wrong));
  // A state with no timeline recorded sets no floor: PostgreSQL's own choice.
  CHECK(promotion_floor(*d2) == 0);
}

#include "ha/member_status.h"

TEST_CASE("member status round-trips, decider diagnostics included, and decoding is total") {
  MemberStatus m;
  m.name = "n2";
  m.seq = 7;
  m.data = DataKind::cluster;
  m.system_id = 99;
  m.timeline = 3;
  m.lsn = 1234;
  m.pg_running = m.in_recovery = m.streaming = true;
  m.upstream = "127.0.0.11";
  m.priority = -2;
  m.acked_epoch = 5;
  m.decider_diags.push_back({"no_failover_candidate", "n3: lag", "ctl failover --to n2"});
  m.probe_age_ms = 45;
  auto d = MemberStatus::decode(m.encode());
  REQUIRE(d);
  CHECK(d->encode() == m.encode());
  CHECK(d->priority == -2);
  CHECK(d->probe_age_ms == 45);
  REQUIRE(d->decider_diags.size() == 1);
  CHECK(d->decider_diags[0].action == "ctl failover --to n2");
  std::string b = m.encode();
  for (size_t cut = 0; cut < b.size(); ++cut) CHECK_FALSE(MemberStatus::decode(b.substr(0, cut)));
}

TEST_CASE("member status: the holder's serving flag, unknown from a version-2 sender") {
  MemberStatus m;
  m.name = "n1";
  m.serving = true;
  auto d = MemberStatus::decode(m.encode());
  REQUIRE(d);
  CHECK(d->serving_known);
  CHECK(d->serving);
  // Version 2 is the same encoding without the trailing flag (and the
  // version-4 probe age after it).
  std::string v2 = m.encode(4);
  v2[0] = 2;
  v2.resize(v2.size() - 9);
  auto old = MemberStatus::decode(v2);
  REQUIRE(old);
  CHECK_FALSE(old->serving_known);
}

TEST_CASE("member status: the probe's age, 0 from a version-3 sender, -1 = no probe yet") {
  MemberStatus m;
  m.name = "n1";
  m.probe_age_ms = -1;
  auto d = MemberStatus::decode(m.encode());
  REQUIRE(d);
  CHECK(d->probe_age_ms == -1);
  std::string bad = m.encode(4);
  bad[bad.size() - 8] = static_cast<char>(0xfe);  // -2: not an age
  CHECK_FALSE(MemberStatus::decode(bad));
  m.probe_age_ms = 1234;
  std::string v3 = m.encode(4);
  v3[0] = 3;
  v3.resize(v3.size() - 8);
  auto old = MemberStatus::decode(v3);
  REQUIRE(old);
  CHECK(old->probe_age_ms == 0);
  CHECK(old->serving_known);
}

TEST_CASE("synchronous set: q from set_sync's seq (0 from an older sender = 1), and the failover quorum |C| - q + 1") {
  ClusterState s;
  Command sync = cmd(CmdType::set_sync, "n1", 0);
  sync.members = {"n2", "n3", "n4"};
  REQUIRE(apply_command(s, sync, 1).applied);
  CHECK(sync_ack_count(s) == 1);  // an older primary's ANY 1: hear all of C
  CHECK(sync_needed(s) == 3);
  sync.seq = 2;
  apply_command(s, sync, 2);
  CHECK(sync_ack_count(s) == 2);
  CHECK(sync_needed(s) == 2);
  sync.seq = 3;
  apply_command(s, sync, 3);
  CHECK(sync_needed(s) == 1);
  sync.members.clear();
  sync.seq = 0;
  apply_command(s, sync, 4);
  CHECK(sync_needed(s) == 0);
  // A version-2 snapshot (no q) decodes with q unknown = 1.
  ClusterState old;
  old.sync = {"n2", "n3"};
  std::string bytes = old.encode();
  bytes[0] = 2;
  // without sync_acks (u32) and failover_accept_loss (bool), and version 4's
  // two timelines (u32 each), version 5's pending removal (two empty
  // strings, a u32 length each) and version 6's empty schedules (u32 + bool)
  bytes.resize(bytes.size() - 5 - 8 - 8 - 5);
  auto d = ClusterState::decode(bytes);
  REQUIRE(d);
  CHECK(d->sync == old.sync);
  CHECK(sync_needed(*d) == 2);
}

TEST_CASE("member status v5: the pgwarden version; older formats still read, newer ones read as far as known") {
  MemberStatus m;
  m.name = "n1";
  m.probe_age_ms = 12;
  m.version = "0.1.0";
  auto d = MemberStatus::decode(m.encode());
  REQUIRE(d);
  CHECK(d->version == "0.1.0");
  CHECK(d->format == kStatusFormat);
  // A member of the previous format: everything but the version.
  std::string v4 = m.encode(4);
  CHECK(v4[0] == 4);
  auto old = MemberStatus::decode(v4);
  REQUIRE(old);
  CHECK(old->format == 4);
  CHECK(old->version.empty());
  CHECK(old->probe_age_ms == 12);
  // A newer format appends fields this build does not know: skipped.
  std::string v6 = m.encode() + std::string("\x07\x00\x00\x00", 4) + "future!";
  v6[0] = static_cast<char>(kStatusFormat + 1);
  auto newer = MemberStatus::decode(v6);
  REQUIRE(newer);
  CHECK(newer->format == kStatusFormat + 1);
  CHECK(newer->version == "0.1.0");
  CHECK(newer->probe_age_ms == 12);
  // ... but a known format with bytes after its fields is refused, and a
  // newer one must still hold every field this build knows.
  CHECK_FALSE(MemberStatus::decode(m.encode() + "x"));
  std::string short_v6 = m.encode(4);
  short_v6[0] = static_cast<char>(kStatusFormat + 1);
  CHECK_FALSE(MemberStatus::decode(short_v6));
  CHECK_FALSE(MemberStatus::decode(std::string(1, '\0')));
}

TEST_CASE("member removal: the mark round-trips in snapshots (v5) and a v4 snapshot decodes with none pending") {
  ClusterState s;
  Command a = cmd(CmdType::adopt, "n1");
  a.system_id = 5;
  apply_command(s, a, 1);
  REQUIRE(apply_command(s, cmd(CmdType::mark_removal, "n3"), 2).applied);
  CHECK(s.removing == "n3");
  auto d = ClusterState::decode(s.encode());
  REQUIRE(d);
  CHECK(*d == s);
  CHECK(d->removing == "n3");
  Command end = cmd(CmdType::end_removal, "n3");
  end.reason = "the removal of n3 was withdrawn: test";
  REQUIRE(apply_command(s, end, 3).applied);
  CHECK(s.removing.empty());
  CHECK(s.removal_note == end.reason);
  d = ClusterState::decode(s.encode());
  REQUIRE(d);
  CHECK(d->removal_note == end.reason);
  // Both commands round-trip, and an older decoder's range ends before them
  // (a node of the previous version skips them, as any unknown entry).
  for (CmdType t : {CmdType::mark_removal, CmdType::end_removal}) {
    auto c = Command::decode(cmd(t, "n3").encode());
    REQUIRE(c);
    CHECK(c->type == t);
  }
}

TEST_CASE("member removal: the mark is refused for the holder, a pending hand-over target or a second member") {
  ClusterState s;
  Command a = cmd(CmdType::adopt, "n1");
  a.system_id = 5;
  apply_command(s, a, 1);
  auto r = apply_command(s, cmd(CmdType::mark_removal, "n1"), 2);
  CHECK_FALSE(r.applied);
  CHECK(r.why_rejected.find("holds the primary lock") != std::string::npos);
  REQUIRE(apply_command(s, cmd(CmdType::switchover, "n1", 0, "n2"), 3).applied);
  CHECK_FALSE(apply_command(s, cmd(CmdType::mark_removal, "n2"), 4).applied);
  apply_command(s, cmd(CmdType::clear_switchover), 5);
  REQUIRE(apply_command(s, cmd(CmdType::mark_removal, "n2"), 6).applied);
  CHECK(apply_command(s, cmd(CmdType::mark_removal, "n2"), 7).applied);  // a repeat: no change
  r = apply_command(s, cmd(CmdType::mark_removal, "n3"), 8);
  CHECK_FALSE(r.applied);
  CHECK(r.why_rejected.find("removal of n2") != std::string::npos);
  CHECK(s.removing == "n2");
  // Only the pending removal can be ended.
  CHECK_FALSE(apply_command(s, cmd(CmdType::end_removal, "n3"), 9).applied);
  CHECK(s.removing == "n2");
}

TEST_CASE("member removal: while marked, the member is never granted the lock nor added to the synchronous set") {
  ClusterState s;
  Command a = cmd(CmdType::adopt, "n1");
  a.system_id = 5;
  apply_command(s, a, 1);
  Command sync = cmd(CmdType::set_sync, "n1", s.epoch);
  sync.members = {"n2"};
  sync.seq = 1;
  REQUIRE(apply_command(s, sync, 2).applied);
  REQUIRE(apply_command(s, cmd(CmdType::mark_removal, "n3"), 3).applied);
  // A primary that chose n3 before it applied the mark: refused.
  sync.members = {"n2", "n3"};
  auto r = apply_command(s, sync, 4);
  CHECK_FALSE(r.applied);
  CHECK(s.sync == std::vector<std::string>{"n2"});
  // Narrowing or keeping a set without it is fine.
  sync.members = {};
  CHECK(apply_command(s, sync, 5).applied);
  // A member already in the set may stay while the primary narrows it out.
  ClusterState t;
  apply_command(t, a, 1);
  sync.members = {"n2", "n3"};
  REQUIRE(apply_command(t, sync, 2).applied);
  REQUIRE(apply_command(t, cmd(CmdType::mark_removal, "n3"), 3).applied);
  CHECK(apply_command(t, sync, 4).applied);  // unchanged: still names n3
  // The lock: no set_primary, switchover or failover request to it.
  Command sp = cmd(CmdType::set_primary, "n3", s.epoch);
  sp.reason = "failover: test";
  CHECK_FALSE(apply_command(s, sp, 6).applied);
  CHECK(s.primary == "n1");
  CHECK_FALSE(apply_command(s, cmd(CmdType::switchover, "n1", 0, "n3"), 7).applied);
  CHECK_FALSE(apply_command(s, cmd(CmdType::request_failover, "n3", s.epoch), 8).applied);
  // A release to it (a switchover to "the best standby" that picked it
  // before the mark reached the holder) goes without a successor.
  REQUIRE(apply_command(s, cmd(CmdType::switchover, "n1", 0, ""), 9).applied);
  const uint64_t e = s.epoch;
  Command rel = cmd(CmdType::release, "n1", e, "n3");
  REQUIRE(apply_command(s, rel, 10).applied);
  CHECK(s.primary.empty());
  CHECK(s.epoch == e + 1);
  CHECK_FALSE(s.switchover);
  // Once the removal ended (withdrawn), it may be chosen again.
  REQUIRE(apply_command(s, cmd(CmdType::end_removal, "n3"), 11).applied);
  sp.epoch = s.epoch;
  CHECK(apply_command(s, sp, 12).applied);
  CHECK(s.primary == "n3");
}
