// tests/sim/membership_scenarios_test.cc — targeted membership-change
// scenarios on the simulation harness (membership.h): a learner is
// replicated to but never counted; one change at a time; two voters at once
// refused; a removed leader steps down once its removal commits and never
// leads again; a removed node cannot disturb the cluster; growth 3 -> 5 and
// shrink back; membership survives compaction and restarts (snapshot config).
#include <catch2/catch.hpp>

#include <algorithm>

#include "base/log.h"
#include "consensus/membership.h"
#include "sim_cluster.h"

using namespace pw::sim;
using pw::consensus::MemberInfo;
using pw::consensus::Membership;
using pw::consensus::ProposalFate;
using pw::consensus::Role;

namespace {

constexpr int64_t kTick = 10000;
constexpr int64_t kElection = 10 * kTick;

// "n<id>" without `literal + std::to_string()`, which g++ 12 -O2 flags
// with a false -Wrestrict warning.
std::string node_name(uint64_t id) {
  char buf[32];
  snprintf(buf, sizeof buf, "n%llu", static_cast<unsigned long long>(id));
  return buf;
}

ClusterOptions opts(int nodes, int seed_members) {
  pw::log_set_level(pw::LogLevel::warn);
  ClusterOptions o;
  o.nodes = nodes;
  o.seed_members = seed_members;
  o.seed = 7;
  o.tick_us = kTick;
  return o;
}

uint64_t elect(SimCluster& c) {
  REQUIRE(c.run_until([&] { return c.leader() != 0; }, 20 * kElection));
  c.run_for(3 * kTick);  // the no-op commits: the leader may now change membership
  return c.leader();
}

Membership with(Membership m, uint64_t id, bool voter) {
  auto it = std::find_if(m.members.begin(), m.members.end(),
                         [&](const MemberInfo& x) { return x.id == id; });
  if (it != m.members.end()) {
    it->voter = voter;
  } else {
    m.members.push_back(MemberInfo{id, node_name(id), "", 0, voter, false});
    std::sort(m.members.begin(), m.members.end(),
              [](const MemberInfo& a, const MemberInfo& b) { return a.id < b.id; });
    m.next_id = std::max(m.next_id, id + 1);
  }
  return m;
}

Membership without(Membership m, uint64_t id) {
  m.members.erase(std::remove_if(m.members.begin(), m.members.end(),
                                 [&](const MemberInfo& x) { return x.id == id; }),
                  m.members.end());
  return m;
}

// Proposes at the current leader and waits for the fate; returns it.
ProposalFate change(SimCluster& c, FateLog& log, const Membership& to) {
  uint64_t l = elect(c);
  uint64_t id = c.propose_config(l, to);
  REQUIRE(c.run_until([&] { return log.find(l, id) != nullptr; }, 20 * kElection));
  return *log.find(l, id);
}

bool committed_everywhere(SimCluster& c, const std::string& data) {
  return c.run_until([&] { return c.committed_index_of(data) != 0 && c.converged(); },
                     20 * kElection);
}

}  // namespace

TEST_CASE("membership: a learner is replicated to, never counted, and joins as a voter") {
  SimCluster c(opts(4, 3));
  FateLog log;
  c.add_observer(&log);
  uint64_t l = elect(c);
  Membership m = c.core(l)->membership();
  CHECK(m.voters().size() == 3);
  CHECK(c.core(4)->membership().contains(4) == false);  // node 4 starts outside

  REQUIRE(change(c, log, with(m, 4, false)).outcome == ProposalFate::Outcome::committed);
  c.propose(c.leader(), "after-learner");
  REQUIRE(committed_everywhere(c, "after-learner"));
  CHECK(c.core(4)->commit() == c.core(c.leader())->commit());  // the learner has the log
  CHECK_FALSE(c.core(4)->is_voter());

  // A learner is not part of the quorum: with two voters cut, nothing commits
  // even though the learner acknowledges everything.
  l = c.leader();
  std::vector<uint64_t> others;
  for (uint64_t v : c.core(l)->membership().voters())
    if (v != l) others.push_back(v);
  REQUIRE(others.size() == 2);
  c.cut_both(l, others[0]);
  c.cut_both(l, others[1]);
  uint64_t before = c.core(l)->commit();
  c.propose(l, "cut-off");
  c.run_for(3 * kTick);
  CHECK(c.core(l)->commit() == before);
  c.heal_network();
  REQUIRE(c.run_until([&] { return c.committed_index_of("cut-off") || c.leader() != l; },
                      20 * kElection));

  // Promotion: now 4 voters (quorum 3), and node 4 can lead.
  REQUIRE(change(c, log, with(c.core(c.leader())->membership(), 4, true)).outcome ==
          ProposalFate::Outcome::committed);
  CHECK(c.core(c.leader())->membership().voters().size() == 4);
  c.transfer_leadership(c.leader(), 4);
  CHECK(c.run_until([&] { return c.leader() == 4; }, 20 * kElection));
}

TEST_CASE("membership: a voter added before it heard of the cluster can still elect its leader") {
  // Node 4 joins (learner, then voter) and leads; the cluster shrinks to
  // node 4 alone; then node 5 — which knows only the seed configuration
  // {1,2,3}, where neither it nor node 4 is a member — is added as a voter
  // while it is cut off: the leader takes {4, 5} at once, cannot commit it
  // and steps down. Once the network heals, node 5 must answer node 4's
  // campaign although node 4's id means nothing to it yet (sim_consensus
  // seed 516715058790, 5 nodes).
  SimCluster c(opts(5, 3));
  FateLog log;
  c.add_observer(&log);
  uint64_t l = elect(c);
  REQUIRE(change(c, log, with(c.core(l)->membership(), 4, false)).outcome ==
          ProposalFate::Outcome::committed);
  REQUIRE(change(c, log, with(c.core(c.leader())->membership(), 4, true)).outcome ==
          ProposalFate::Outcome::committed);
  c.transfer_leadership(c.leader(), 4);
  REQUIRE(c.run_until([&] { return c.leader() == 4; }, 20 * kElection));
  for (uint64_t v = 1; v <= 3; ++v)
    REQUIRE(change(c, log, with(c.core(c.leader())->membership(), v, false)).outcome ==
            ProposalFate::Outcome::committed);
  l = c.leader();
  REQUIRE(l == 4);
  REQUIRE(c.core(l)->membership().voters().size() == 1);
  CHECK_FALSE(c.core(5)->membership().contains(4));
  for (uint64_t i = 1; i <= 5; ++i)
    if (i != 5) c.cut_both(5, i);
  c.propose_config(l, with(c.core(l)->membership(), 5, true));
  REQUIRE(c.run_until([&] { return c.leader() == 0; }, 20 * kElection));  // check-quorum
  c.heal_network();
  REQUIRE(c.run_until([&] { return c.leader() != 0; }, 20 * kElection));
  c.propose(c.leader(), "after-join");
  REQUIRE(committed_everywhere(c, "after-join"));
  CHECK(c.core(5)->is_voter());
}

TEST_CASE("membership: one change at a time, one voter per change") {
  SimCluster c(opts(5, 3));
  FateLog log;
  c.add_observer(&log);
  uint64_t l = elect(c);
  Membership m = c.core(l)->membership();
  // Two voters at once: refused, whatever the network.
  ProposalFate two = change(c, log, with(with(m, 4, true), 5, true));
  CHECK(two.outcome == ProposalFate::Outcome::dropped);
  CHECK(two.reason.find("only one voter") != std::string::npos);
  // A second change while the first is uncommitted: refused. Cut the leader
  // from everyone so the first cannot commit.
  l = c.leader();
  for (uint64_t i = 1; i <= 5; ++i)
    if (i != l) c.cut_both(l, i);
  uint64_t first = c.propose_config(l, with(m, 4, false));
  uint64_t second = c.propose_config(l, with(m, 5, false));
  c.run_for(kTick);
  REQUIRE(log.find(l, second) != nullptr);
  CHECK(log.find(l, second)->outcome == ProposalFate::Outcome::dropped);
  CHECK(log.find(l, second)->reason.find("one change at a time") != std::string::npos);
  (void)first;
  c.heal_network();
  c.run_for(20 * kElection);
}

TEST_CASE("membership: a removed leader steps down after the removal commits, never leads again") {
  SimCluster c(opts(3, 3));
  FateLog log;
  c.add_observer(&log);
  uint64_t l = elect(c);
  uint64_t old_term = c.core(l)->term();
  ProposalFate f = change(c, log, without(c.core(l)->membership(), l));
  REQUIRE(f.outcome == ProposalFate::Outcome::committed);
  REQUIRE(c.run_until([&] { return c.leader() != 0 && c.leader() != l; }, 20 * kElection));
  CHECK(c.core(c.leader())->term() > old_term);
  // It stepped down itself (the others ignore it once the removal commits,
  // so without stepping down it would believe it leads its old term forever).
  CHECK(c.core(l)->role() == Role::follower);
  CHECK_FALSE(c.core(l)->is_voter());
  CHECK(c.core(c.leader())->membership().voters().size() == 2);
  // Restarted with its old disk, or cut off and given time, it never leads
  // again and the others do not even answer it (its id is never reused).
  c.crash(l);
  c.restart(l);
  c.propose(c.leader(), "after-removal");
  REQUIRE(committed_everywhere(c, "after-removal"));
  uint64_t term = c.core(c.leader())->term();
  c.run_for(50 * kElection);
  CHECK(c.leader() != l);
  CHECK(c.core(c.leader())->term() == term);  // it never disturbed the remaining two
  // Re-adding the same id is refused.
  Membership back = c.core(c.leader())->membership();
  back.members.push_back(MemberInfo{l, "again", "", 0, true, false});
  std::sort(back.members.begin(), back.members.end(),
            [](const MemberInfo& a, const MemberInfo& b) { return a.id < b.id; });
  ProposalFate again = change(c, log, back);
  CHECK(again.outcome == ProposalFate::Outcome::dropped);
  CHECK(again.reason.find("never reused") != std::string::npos);
}

TEST_CASE("membership: grow 3 -> 5, lose two, shrink back to 3; survives compaction and restarts") {
  ClusterOptions o = opts(5, 3);
  o.compact_every = 4;  // configurations must travel inside snapshots
  SimCluster c(o);
  FateLog log;
  c.add_observer(&log);
  for (uint64_t id : {4, 5}) {
    REQUIRE(change(c, log, with(c.core(c.leader() ? c.leader() : elect(c))->membership(), id, false))
                .outcome == ProposalFate::Outcome::committed);
    for (int i = 0; i < 6; ++i) c.propose(c.leader(), node_name(id * 100 + static_cast<uint64_t>(i)));
    c.run_for(10 * kTick);
    REQUIRE(change(c, log, with(c.core(c.leader())->membership(), id, true)).outcome ==
            ProposalFate::Outcome::committed);
  }
  CHECK(c.core(c.leader())->membership().voters().size() == 5);
  // With 5 voters, two nodes down still leaves a quorum.
  uint64_t l = c.leader();
  std::vector<uint64_t> down;
  for (uint64_t i = 1; i <= 5 && down.size() < 2; ++i)
    if (i != l) down.push_back(i);
  for (uint64_t d : down) c.crash(d);
  c.propose(l, "with-two-down");
  REQUIRE(c.run_until([&] { return c.committed_index_of("with-two-down") != 0; }, 20 * kElection));
  // Remove the two dead ones, one at a time: 3 voters again.
  for (uint64_t d : down)
    REQUIRE(change(c, log, without(c.core(c.leader())->membership(), d)).outcome ==
            ProposalFate::Outcome::committed);
  CHECK(c.core(c.leader())->membership().voters().size() == 3);
  // A full restart recovers the membership from snapshots and logs.
  for (uint64_t i = 1; i <= 5; ++i)
    if (c.up(i)) c.crash(i);
  for (uint64_t i = 1; i <= 5; ++i) c.restart(i);
  uint64_t nl = elect(c);
  CHECK(c.core(nl)->membership().voters().size() == 3);
  CHECK(std::find(down.begin(), down.end(), nl) == down.end());
  c.propose(nl, "after-restart");
  REQUIRE(committed_everywhere(c, "after-restart"));
  CHECK(c.core(nl)->log().snapshot().config.size() > 0);
}
