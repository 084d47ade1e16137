// tests/sim/scenarios_test.cc — targeted Raft scenarios on the simulation
// harness (no random faults): pre-vote, check-quorum, leadership transfer
// (incl. a lagging target), snapshot install, proposal forwarding and fates,
// full-cluster restart. Where a feature exists to prevent something, the
// scenario also runs with the feature off and shows the thing happening, so
// the test cannot pass by accident.
#include <catch2/catch.hpp>

#include "base/log.h"
#include "sim_cluster.h"
#include "support/strf.h"

using namespace pw::sim;
using pw::consensus::ProposalFate;
using pw::test::label;

namespace {

constexpr int64_t kTick = 10000;

constexpr int64_t kElection = 10 * kTick;

ClusterOptions base_opts(int nodes, uint64_t seed = 42) {
  pw::log_set_level(pw::LogLevel::warn);
  ClusterOptions o;
  o.nodes = nodes;
  o.seed = seed;
  o.tick_us = kTick;
  return o;
}

uint64_t elect(SimCluster& c) {
  REQUIRE(c.run_until([&] { return c.leader() != 0; }, 20 * kElection));
  // Let the no-op commit so the cluster is settled.
  c.run_for(2 * kTick);
  return c.leader();
}

uint64_t some_follower(SimCluster& c, uint64_t leader) {
  for (uint64_t i = 1; i <= static_cast<uint64_t>(c.options().nodes); ++i)
    if (i != leader) return i;
  return 0;
}

}  // namespace

TEST_CASE("pre-vote keeps a rejoining partitioned node from disrupting the leader") {
  for (bool pre_vote : {true, false}) {
    INFO("pre_vote=" << pre_vote);
    ClusterOptions o = base_opts(3);
    o.pre_vote = pre_vote;
    o.check_quorum = pre_vote;  // the classic configuration without either
    SimCluster c(o);
    uint64_t l = elect(c);
    uint64_t term = c.core(l)->term();
    uint64_t f = some_follower(c, l);
    c.propose(l, "before");
    c.run_for(5 * kTick);
    c.isolate(f);
    c.run_for(20 * kElection);
    if (pre_vote) {
      CHECK(c.core(f)->term() == term);  // pre-votes never raise the term
      CHECK(c.core(f)->role() != pw::consensus::Role::leader);
    } else {
      CHECK(c.core(f)->term() > term + 5);  // campaigns kept bumping it
    }
    c.heal_network();
    c.run_for(5 * kElection);
    REQUIRE(c.leader() != 0);
    if (pre_vote) {
      CHECK(c.leader() == l);
      CHECK(c.core(l)->term() == term);
      CHECK(c.core(f)->leader() == l);
      CHECK(c.stats().elections == 1);
    } else {
      CHECK(c.core(c.leader())->term() > term + 5);  // the rejoining node forced new elections
    }
  }
}

TEST_CASE("check-quorum makes an isolated leader step down") {
  for (bool check_quorum : {true, false}) {
    INFO("check_quorum=" << check_quorum);
    ClusterOptions o = base_opts(5);
    o.check_quorum = check_quorum;
    SimCluster c(o);
    uint64_t l = elect(c);
    uint64_t term = c.core(l)->term();
    c.isolate(l);
    c.run_for(3 * kElection);
    if (check_quorum) {
      CHECK(c.core(l)->role() == pw::consensus::Role::follower);
      CHECK(c.core(l)->leader() == 0);
      CHECK(c.core(l)->term() == term);  // stepped down without raising its term
    } else {
      CHECK(c.core(l)->role() == pw::consensus::Role::leader);  // would keep believing it leads
    }
    // The majority side elects a new leader either way.
    uint64_t nl = c.leader();
    REQUIRE(nl != 0);
    if (check_quorum) CHECK(nl != l);
    c.heal_network();
    c.run_for(3 * kElection);
    REQUIRE(c.leader() != 0);
    CHECK(c.core(l)->role() != pw::consensus::Role::leader);
  }
}

TEST_CASE("leadership transfer completes") {
  SimCluster c(base_opts(3));
  FateLog fl;
  c.add_observer(&fl);
  uint64_t l = elect(c);
  uint64_t term = c.core(l)->term();
  uint64_t to = some_follower(c, l);
  c.transfer_leadership(l, to);
  // Within one election timeout (the transfer's own deadline).
  REQUIRE(c.run_until([&] { return c.leader() == to; }, kElection));
  CHECK(c.core(to)->term() == term + 1);
  c.run_for(3 * kTick);
  CHECK(c.core(l)->role() == pw::consensus::Role::follower);
  CHECK(c.core(l)->leader() == to);
  // Transfer asked on a follower is forwarded to the leader.
  c.transfer_leadership(l, l);
  REQUIRE(c.run_until([&] { return c.leader() == l; }, kElection));
  uint64_t id = c.propose(l, "after transfers");
  REQUIRE(c.run_until([&] { return fl.find(l, id) != nullptr; }, kElection));
  CHECK(fl.find(l, id)->outcome == ProposalFate::Outcome::committed);
}

TEST_CASE("leadership transfer to a lagging node catches it up first") {
  SimCluster c(base_opts(3));
  FateLog fl;
  c.add_observer(&fl);
  uint64_t l = elect(c);
  uint64_t lag = some_follower(c, l);
  c.cut(l, lag);  // the target stops receiving appends
  for (int i = 0; i < 50; ++i) c.propose(l, label("entry", i));
  c.run_for(5 * kTick);
  uint64_t leader_last = c.core(l)->last_index();
  REQUIRE(c.core(lag)->last_index() + 50 <= leader_last);
  REQUIRE(c.core(l)->commit() == leader_last);  // committed by the other follower
  c.heal_network();
  c.transfer_leadership(l, lag);
  // Proposals are refused while the transfer is in progress.
  uint64_t during = c.propose(l, "during transfer");
  REQUIRE(c.run_until([&] { return c.leader() == lag; }, kElection));
  // It could only win because it was caught up: its log holds everything.
  CHECK(c.core(lag)->log().match_term(leader_last, c.core(l)->log().term(leader_last).value_or(0)));
  const ProposalFate* f = fl.find(l, during);
  REQUIRE(f != nullptr);
  CHECK(f->outcome == ProposalFate::Outcome::dropped);
  CHECK(f->reason.find("transfer") != std::string::npos);
}

TEST_CASE("a far-behind follower gets a snapshot") {
  ClusterOptions o = base_opts(3);
  o.compact_every = 10;
  SimCluster c(o);
  uint64_t l = elect(c);
  uint64_t f = some_follower(c, l);
  c.crash(f);
  for (int i = 0; i < 60; ++i) {
    c.propose(l, label("p", i));
    c.run_for(kTick);
  }
  REQUIRE(c.core(l)->log().snapshot().index > c.disk(f).last_index());
  c.restart(f);
  REQUIRE(c.run_until([&] { return c.converged(); }, 5 * kElection));
  CHECK(c.stats().snapshots_installed >= 1);
  auto* lsm = dynamic_cast<DigestStateMachine*>(c.state_machine(l));
  auto* fsm = dynamic_cast<DigestStateMachine*>(c.state_machine(f));
  CHECK(fsm->index() == lsm->index());
  CHECK(fsm->digest() == lsm->digest());
  // And it keeps replicating normally afterwards.
  c.propose(l, "after snapshot");
  c.run_for(5 * kTick);
  CHECK(c.core(f)->commit() == c.core(l)->commit());
}

TEST_CASE("a brand-new cluster's first committed entry carries its cluster id, created once") {
  auto first_id = [](uint64_t seed, bool crash_first_leader) {
    SimCluster c(base_opts(3, seed));
    if (crash_first_leader) {
      // The first leader dies before anyone else got its entry 1: the next
      // first leader draws its own id, and only that one is committed.
      REQUIRE(c.run_until([&] { return c.leader() != 0; }, 20 * kElection));
      uint64_t l = c.leader();
      c.crash(l);
      REQUIRE(c.run_until([&] { return c.leader() != 0 && c.committed_length() >= 1; },
                          20 * kElection));
      c.restart(l);
    } else {
      elect(c);
    }
    REQUIRE(c.run_until([&] { return c.converged() && c.committed_length() >= 1; }, 10 * kElection));
    auto id = pw::consensus::cluster_id_of(c.committed_entry(1));
    REQUIRE(id);
    CHECK(*id != 0);
    // Every node holds the same entry 1 (log matching makes it one id).
    for (uint64_t n = 1; n <= 3; ++n)
      CHECK(pw::consensus::cluster_id_of(c.core(n)->log().slice(1, 2, 1 << 20).at(0)) == id);
    // Later leaders do not mint another one.
    c.crash(c.leader());
    REQUIRE(c.run_until([&] { return c.leader() != 0; }, 20 * kElection));
    c.run_for(5 * kTick);
    for (uint64_t i = 2; i <= c.committed_length(); ++i)
      CHECK(c.committed_entry(i).data.empty());  // later no-ops carry nothing
    return *id;
  };
  uint64_t a = first_id(1, false), b = first_id(2, false);
  CHECK(a != b);  // two clusters with the same name and members still differ
  first_id(3, true);
}

TEST_CASE("a follower whose disk is wiped and restarted converges within a bounded time") {
  // Issue 13: the leader never probed below the follower's old match, so a
  // member restarted with an empty state dir was never caught up.
  bool compacted = GENERATE(false, true);
  bool busy = GENERATE(false, true);
  ClusterOptions o = base_opts(3, 7);
  if (compacted) o.compact_every = 10;
  SimCluster c(o);
  uint64_t l = elect(c);
  uint64_t f = some_follower(c, l);
  for (int i = 0; i < 40; ++i) {
    c.propose(l, label("p", static_cast<uint64_t>(i)));
    c.run_for(kTick);
  }
  REQUIRE(c.run_until([&] { return c.converged(); }, 5 * kElection));
  REQUIRE(c.core(l)->progress(f)->match == c.core(l)->last_index());
  c.wipe(f);
  c.restart(f);
  REQUIRE(c.core(f)->last_index() == 0);
  if (busy) {
    for (int i = 0; i < 20; ++i) {
      c.propose(l, label("q", static_cast<uint64_t>(i)));
      c.run_for(kTick);
    }
  }
  // Idle or busy, the wiped member is back within two election timeouts
  // (it used to stay empty for good).
  REQUIRE(c.run_until(
      [&] {
        return c.converged() && c.core(f)->commit() == c.core(l)->commit() &&
               c.core(f)->commit() == c.committed_length();
      },
      2 * kElection));
  CHECK(c.leader() == l);
  if (compacted) CHECK(c.stats().snapshots_installed >= 1);
  auto* lsm = dynamic_cast<DigestStateMachine*>(c.state_machine(l));
  auto* fsm = dynamic_cast<DigestStateMachine*>(c.state_machine(f));
  CHECK(fsm->digest() == lsm->digest());
  c.propose(l, "after wipe");
  c.run_for(5 * kTick);
  CHECK(c.core(f)->commit() == c.core(l)->commit());
}

TEST_CASE("proposals: forwarded from a follower, and dropped without a leader") {
  SimCluster c(base_opts(5));
  FateLog fl;
  c.add_observer(&fl);
  uint64_t l = elect(c);
  uint64_t f = some_follower(c, l);
  uint64_t id = c.propose(f, "via follower");
  REQUIRE(c.run_until([&] { return fl.find(f, id) != nullptr; }, kElection));
  const ProposalFate* fate = fl.find(f, id);
  CHECK(fate->outcome == ProposalFate::Outcome::committed);
  REQUIRE(fate->index > 0);
  CHECK(c.committed_entry(fate->index).data == "via follower");

  // A follower cut off before knowing any leader drops at once.
  c.crash(f);
  c.isolate(f);
  c.restart(f);
  fl.fates.clear();  // proposal ids restart with the new incarnation
  uint64_t id2 = c.propose(f, "nobody to ask");
  c.run_for(kTick);
  const ProposalFate* f2 = fl.find(f, id2);
  REQUIRE(f2 != nullptr);
  CHECK(f2->outcome == ProposalFate::Outcome::dropped);
  CHECK(f2->reason == "no leader known");
}

TEST_CASE("a proposal on a leader that loses its quorum is reported dropped once overwritten") {
  // Exact when the partition heals before the proposal times out.
  ClusterOptions o = base_opts(3);
  o.proposal_timeout_ticks = 100 * o.election_ticks;
  SimCluster c(o);
  FateLog fl;
  c.add_observer(&fl);
  uint64_t l = elect(c);
  c.isolate(l);
  uint64_t id = c.propose(l, "doomed");
  c.run_for(3 * kElection);
  uint64_t nl = c.leader();
  REQUIRE(nl != 0);
  REQUIRE(nl != l);
  c.propose(nl, "winner");
  c.run_for(2 * kTick);
  c.heal_network();
  REQUIRE(c.run_until([&] { return fl.find(l, id) != nullptr; }, 3 * kElection));
  CHECK(fl.find(l, id)->outcome == ProposalFate::Outcome::dropped);
  REQUIRE(c.run_until([&] { return c.converged(); }, 3 * kElection));
  c.check_proposal_fates();
}

TEST_CASE("a proposal on a leader that stays cut off is reported unknown after the proposal timeout") {
  // Issue 21 item 7: it used to stay pending for as long as the partition
  // lasted. Unknown, not dropped: it may still be committed — here it is
  // not (the other side commits over it), and the log check agrees.
  SimCluster c(base_opts(3));
  FateLog fl;
  c.add_observer(&fl);
  uint64_t l = elect(c);
  c.isolate(l);
  uint64_t id = c.propose(l, "stranded");
  const int64_t timeout = 3 * kElection;  // the default: three election timeouts
  c.run_for(timeout - 2 * kTick);
  CHECK(fl.find(l, id) == nullptr);
  REQUIRE(c.run_until([&] { return fl.find(l, id) != nullptr; }, 4 * kTick));
  CHECK(fl.find(l, id)->outcome == ProposalFate::Outcome::unknown);
  uint64_t nl = c.leader();
  REQUIRE(nl != 0);
  REQUIRE(nl != l);
  c.propose(nl, "winner");
  c.heal_network();
  REQUIRE(c.run_until([&] { return c.converged(); }, 5 * kElection));
  c.check_proposal_fates();
  CHECK(c.committed_index_of("stranded") == 0);
}

TEST_CASE("committed entries survive a restart of the whole cluster") {
  SimCluster c(base_opts(3));
  uint64_t l = elect(c);
  for (int i = 0; i < 20; ++i) c.propose(l, label("durable", i));
  c.run_for(5 * kTick);
  uint64_t committed = c.committed_length();
  REQUIRE(committed >= 21);
  for (uint64_t i = 1; i <= 3; ++i) c.crash(i);
  for (uint64_t i = 1; i <= 3; ++i) c.restart(i);
  // The harness checks that every replayed/applied entry equals the committed one.
  REQUIRE(c.run_until([&] { return c.converged(); }, 10 * kElection));
  CHECK(c.committed_length() >= committed);
  for (uint64_t i = 1; i <= 3; ++i) CHECK(c.core(i)->applied() >= committed);
}

// Raft paper, Figure 8: a leader must not count replicas of an entry from an
// older term as committing it. Replayed step by step on 5 nodes with one
// entry per append message. With the rule broken, the third leader commits
// index i (old term) and the fourth overwrites it, which the harness reports
// as a commit safety violation; with the rule kept, nothing committed is lost.
TEST_CASE("entries of older terms are not committed by counting replicas (Figure 8)") {
  ClusterOptions o = base_opts(5, 8);
  o.max_msg_bytes = 1;  // one entry per app message
  SimCluster c(o);
  uint64_t l = elect(c);
  if (l != 1) {
    c.transfer_leadership(l, 1);
    REQUIRE(c.run_until([&] { return c.leader() == 1; }, 2 * kElection));
  }
  c.run_for(3 * kTick);
  const uint64_t i = c.core(1)->last_index() + 1;
  const uint64_t t1 = c.core(1)->term();
  // (a) X reaches S1 and S2 only.
  for (uint64_t n : {3, 4, 5}) c.cut(1, n);
  c.propose(1, "X");
  REQUIRE(c.run_until([&] { return c.core(2)->last_index() >= i; }, kElection));
  c.crash(1);
  c.heal_network();
  // (b) A leader among S3..S5 gets a term-t2 entry at i (its no-op) and is cut off at once.
  c.isolate(2);
  uint64_t l2 = 0;
  REQUIRE(c.run_until(
      [&] {
        for (uint64_t n : {3, 4, 5})
          if (c.up(n) && c.core(n)->role() == pw::consensus::Role::leader) l2 = n;
        return l2 != 0;
      },
      10 * kElection));
  c.isolate(l2);
  c.crash(l2);
  c.run_for(kTick);  // its appends still in flight are dropped by the partition
  REQUIRE(c.disk(l2).last_index() == i);
  REQUIRE(c.disk(l2).term_at(i) > t1);
  c.heal_network();
  // (c) S1 comes back and leads again (it or S2: both hold X); X reaches a third node.
  c.restart(1);
  uint64_t l3 = 0;
  bool ok3 = c.run_until(
      [&] {
        l3 = c.leader();
        return l3 == 1 || l3 == 2;
      },
      10 * kElection);
  REQUIRE(ok3);
  uint64_t other = l3 == 1 ? 2 : 1;
  uint64_t sk = 0, sm = 0;
  for (uint64_t n : {3, 4, 5})
    if (n != l2) (sk == 0 ? sk : sm) = n;
  c.cut(l3, sm);
  REQUIRE(c.run_until(
      [&] {
        const pw::consensus::Progress* p = c.core(l3)->progress(sk);
        return p && p->match >= i;
      },
      kElection));
  // X is now on a majority (l3, other, sk) but only as an old-term entry.
  c.isolate(l3);
  c.crash(l3);
  c.run_for(kTick);
  // (d) The term-t2 node returns; `other` (holding l3's no-op) is kept away so it can win.
  c.heal_network();
  c.isolate(other);
  c.restart(l2);
  REQUIRE(c.run_until([&] { return c.leader() == l2; }, 20 * kElection));
  c.run_for(5 * kTick);
  // Index i now holds l2's entry on a majority: it overwrote X, legitimately.
  REQUIRE(c.committed_length() >= i);
  CHECK(c.committed_entry(i).data != "X");
  c.heal_network();
  c.restart(l3);
  REQUIRE(c.run_until([&] { return c.converged(); }, 20 * kElection));
}

// The hooks an application layer (cluster state, leases) builds on: per-tick
// callbacks with each node's drifting clock, application messages over the
// same faulty network, and proposals made from inside an apply callback.
TEST_CASE("harness hooks: ticks, app messages, proposals from apply callbacks") {
  ClusterOptions o = base_opts(3, 5);
  o.max_drift = 0.05;
  SimCluster c(o);
  struct App : SimObserver {
    SimCluster* c = nullptr;
    std::map<uint64_t, int> ticks, received;
    std::map<uint64_t, int64_t> last_clock;
    bool clocks_monotonic = true;
    void on_tick(uint64_t node) override {
      ++ticks[node];
      int64_t now = c->node_clock_us(node);
      if (now < last_clock[node]) clocks_monotonic = false;
      last_clock[node] = now;
      for (uint64_t to = 1; to <= 3; ++to)
        if (to != node) c->send_app(node, to, label("status from ", node));
    }
    void on_app_message(uint64_t node, uint64_t from, const std::string& data) override {
      if (data == label("status from ", from)) ++received[node];
    }
    void on_apply(uint64_t node, const pw::consensus::Entry& e) override {
      if (node == 1 && e.data.rfind("ping-", 0) == 0) c->propose(1, "pong-" + e.data.substr(5));
    }
  } app;
  app.c = &c;
  c.add_observer(&app);
  uint64_t l = elect(c);
  c.propose(l, "ping-1");
  REQUIRE(c.run_until([&] { return c.committed_index_of("pong-1") != 0; }, 3 * kElection));
  CHECK(c.committed_index_of("pong-1") > c.committed_index_of("ping-1"));

  // App messages ride the faulty network: loss drops some, a partition all.
  app.received.clear();
  c.faults().loss = 0.2;
  c.run_for(20 * kTick);
  CHECK(app.received[2] > 10);
  CHECK(app.received[2] < 2 * 20);  // 2 senders x ~20 ticks, minus losses
  c.faults().loss = 0;
  c.isolate(3);
  app.received.clear();
  c.run_for(10 * kTick);
  CHECK(app.received[3] == 0);
  CHECK(app.received[1] > 0);
  CHECK(app.clocks_monotonic);
  CHECK(app.ticks[1] > 30);
}

TEST_CASE("a paused leader (SIGSTOP) is replaced, and steps down when resumed") {
  SimCluster c(base_opts(3, 11));
  uint64_t l = elect(c);
  uint64_t term = c.core(l)->term();
  c.propose(l, "before pause");
  c.run_for(3 * kTick);
  c.pause(l);
  CHECK(c.paused(l));
  REQUIRE(c.run_until(
      [&] {
        for (uint64_t n = 1; n <= 3; ++n)
          if (n != l && c.core(n)->role() == pw::consensus::Role::leader) return true;
        return false;
      },
      5 * kElection));
  uint64_t applied_while_paused = c.core(l)->applied();
  uint64_t nl = 0;
  for (uint64_t n = 1; n <= 3; ++n)
    if (n != l && c.core(n)->role() == pw::consensus::Role::leader) nl = n;
  c.propose(nl, "while paused");
  c.run_for(5 * kTick);
  CHECK(c.core(l)->applied() == applied_while_paused);      // frozen: handled nothing
  CHECK(c.core(l)->role() == pw::consensus::Role::leader);  // and still believes it leads
  c.resume(l);
  // Its backlog carries the newer term: it steps down before acting on a tick.
  CHECK(c.core(l)->role() == pw::consensus::Role::follower);
  CHECK(c.core(l)->term() > term);
  REQUIRE(c.run_until([&] { return c.converged(); }, 5 * kElection));
  CHECK(c.committed_index_of("while paused") != 0);
}

TEST_CASE(
    "leader contact (I3): fresh while heard, stale once isolated, fresh again under the new "
    "leader") {
  ClusterOptions o = base_opts(3, 7);
  SimCluster c(o);
  uint64_t l = elect(c);
  c.run_for(3 * kTick);
  for (uint64_t n = 1; n <= 3; ++n) {
    INFO("node " << n << "\n" << c.describe());
    int64_t age = c.core(n)->leader_contact_age_ticks();
    CHECK(age >= 0);
    CHECK(age <= 2);  // heartbeats every tick, delays under a tick
  }
  c.isolate(l);
  c.run_for(5 * kTick);
  // Nobody hears the leader, and the leader hears no quorum: ages grow.
  for (uint64_t n = 1; n <= 3; ++n) {
    INFO("node " << n << "\n" << c.describe());
    int64_t age = c.core(n)->leader_contact_age_ticks();
    CHECK((age == -1 || age >= 4));
  }
  REQUIRE(c.run_until([&] { return c.leader() != 0 && c.leader() != l; }, 20 * kElection));
  uint64_t nl = c.leader();
  c.run_for(3 * kTick);
  INFO(c.describe());
  CHECK(c.core(nl)->leader_contact_age_ticks() <= 2);
  CHECK(c.core(nl)->leader_contact_age_ticks() >= 0);
  uint64_t other = 6 - l - nl;
  CHECK(c.core(other)->leader() == nl);
  CHECK(c.core(other)->leader_contact_age_ticks() <= 2);
  // The deposed leader, still cut off, never counts as fresh: it stepped
  // down (no contact) or its quorum's answers are an election timeout old.
  int64_t old_age = c.core(l)->leader_contact_age_ticks();
  if (c.core(l)->role() == pw::consensus::Role::leader)
    CHECK(old_age >= kElection / kTick - 2);
  else
    CHECK(old_age == -1);
  c.heal_network();
  REQUIRE(c.run_until([&] { return c.core(l)->leader() == nl; }, 10 * kElection));
  c.run_for(2 * kTick);
  CHECK(c.core(l)->leader_contact_age_ticks() <= 2);
}
