// tests/unit/consensus_core_test.cc — message-level checks of the Raft core
// and its in-memory log, driven by hand (the simulation covers the rest):
// votes are in the same Ready as their hard state, fast back-off skips a
// divergent term in one round trip, restart from persisted state, option
// validation, CRC32C known answers.
#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <set>

#include "base/log.h"
#include "consensus/core.h"
#include "consensus/crc32c.h"
#include "support/strf.h"

using namespace pw::consensus;

namespace {

using pw::test::label;

CoreOptions opts(uint64_t id, int n = 3) {
  pw::log_set_level(pw::LogLevel::warn);
  CoreOptions o;
  o.id = id;
  for (int i = 1; i <= n; ++i) o.peers.push_back(static_cast<uint64_t>(i));
  o.seed = 99;
  return o;
}

// Runs ready/advance once, returning the Ready.
Ready drain(Core& c) {
  Ready rd = c.ready();
  c.advance(rd);
  return rd;
}

std::vector<Entry> ents(uint64_t from, uint64_t to, uint64_t term) {
  std::vector<Entry> v;
  for (uint64_t i = from; i <= to; ++i)
    v.push_back(Entry{term, i, EntryType::normal, label("e", i)});
  return v;
}

}  // namespace

TEST_CASE("crc32c known answers") {
  CHECK(crc32c("123456789", 9) == 0xE3069283u);
  CHECK(crc32c("", 0) == 0);
  std::string zeros(32, '\0');
  CHECK(crc32c(zeros) == 0x8A9136AAu);
  // Extending in pieces equals one pass.
  CHECK(crc32c_extend(crc32c("1234", 4), "56789", 5) == 0xE3069283u);
}

TEST_CASE("raft log: append, conflicts, back-off hints") {
  RaftLog log;
  log.load(Snapshot{}, {}, 0);
  CHECK(log.last_index() == 0);
  CHECK(log.append(ents(1, 5, 1)) == 5);
  CHECK(log.term(3) == 1u);
  CHECK_FALSE(log.term(6).has_value());
  // A follower append that matches at 3 and conflicts from 4 on.
  auto r = log.maybe_append(3, 1, 4, ents(4, 6, 2));
  REQUIRE(r);
  CHECK(*r == 6);
  CHECK(log.term(4) == 2u);
  CHECK(log.committed() == 4);
  // A mismatching predecessor is refused.
  CHECK_FALSE(log.maybe_append(6, 3, 6, {}).has_value());
  // Back-off: our largest index with term <= 1 is 3.
  auto [idx, t] = log.find_conflict_by_term(6, 1);
  CHECK(idx == 3);
  CHECK(t == 1);
  CHECK(log.is_up_to_date(6, 2));
  CHECK_FALSE(log.is_up_to_date(5, 2));
  CHECK(log.is_up_to_date(1, 3));
  // A duplicated old append is a no-op, not a truncation.
  REQUIRE(log.maybe_append(3, 1, 4, ents(4, 5, 2)));
  CHECK(log.last_index() == 6);
}

TEST_CASE("raft log: compaction and restore") {
  RaftLog log;
  log.load(Snapshot{}, ents(1, 10, 1), 10);
  CHECK(log.next_committed().size() == 10);
  log.applied_to(8);
  CHECK_THROWS_AS(log.compact(9, "s"), std::invalid_argument);  // beyond applied
  log.compact(8, "state@8");
  CHECK(log.first_index() == 9);
  CHECK(log.term(8) == 1u);
  CHECK_FALSE(log.term(7).has_value());
  CHECK(log.snapshot().data == "state@8");
  log.restore(Snapshot{20, 3, "leader", {}});
  CHECK(log.last_index() == 20);
  CHECK(log.committed() == 20);
  CHECK(log.has_pending_snapshot());
}

TEST_CASE("core: option validation") {
  CoreOptions o = opts(4);
  {
    // A node outside the seed is a node joining an existing cluster: allowed,
    // but it never stands for election (it is no voter).
    Core joining(o);
    for (int i = 0; i < 100; ++i) joining.tick();
    CHECK(joining.role() == Role::follower);
    CHECK(joining.term() == 0);
  }
  o = opts(1);
  o.heartbeat_ticks = 10;
  CHECK_THROWS_AS(Core(o), std::invalid_argument);
  o = opts(1);
  o.peers.push_back(2);
  CHECK_THROWS_AS(Core(o), std::invalid_argument);  // duplicate
}

TEST_CASE("core: a vote is granted in the same Ready that persists it") {
  Core c(opts(2));
  Message v;
  v.type = MsgType::vote;
  v.from = 1;
  v.to = 2;
  v.term = 1;
  c.step(v);
  Ready rd = drain(c);
  REQUIRE(rd.hard_state);
  CHECK(rd.hard_state->term == 1);
  CHECK(rd.hard_state->vote == 1);
  REQUIRE(rd.messages.size() == 1);
  CHECK(rd.messages[0].type == MsgType::vote_resp);
  CHECK_FALSE(rd.messages[0].reject);
  // A second candidate in the same term is refused.
  v.from = 3;
  c.step(v);
  rd = drain(c);
  REQUIRE(rd.messages.size() == 1);
  CHECK(rd.messages[0].reject);
}

TEST_CASE("core: single node elects itself and commits on its own") {
  CoreOptions o = opts(1, 1);
  Core c(o);
  for (int i = 0; i < 2 * o.election_ticks && c.role() != Role::leader; ++i) c.tick();
  REQUIRE(c.role() == Role::leader);
  drain(c);  // persists the no-op, which commits it
  uint64_t id = c.propose("solo");
  Ready rd = drain(c);
  rd = drain(c);
  bool seen = false;
  for (auto& e : rd.committed_entries) seen |= e.data == "solo";
  CHECK(seen);
  REQUIRE(rd.proposals.size() == 1);
  CHECK(rd.proposals[0].id == id);
  CHECK(rd.proposals[0].outcome == ProposalFate::Outcome::committed);
}

TEST_CASE("core: follower rejection carries a hint that skips a divergent term") {
  // Follower 2 has 1..3 term 1 then 4..9 term 2 (from a deposed leader).
  InitialState init;
  init.hard_state = HardState{3, 0, 3};
  init.entries = ents(1, 3, 1);
  auto more = ents(4, 9, 2);
  init.entries.insert(init.entries.end(), more.begin(), more.end());
  Core c(opts(2), init);
  // Leader of term 3 probes at index 9 with log_term 3.
  Message a;
  a.type = MsgType::app;
  a.from = 1;
  a.to = 2;
  a.term = 3;
  a.index = 9;
  a.log_term = 3;
  c.step(a);
  Ready rd = drain(c);
  REQUIRE(rd.messages.size() == 1);
  const Message& r = rd.messages[0];
  CHECK(r.reject);
  CHECK(r.index == 9);
  CHECK(r.reject_hint == 9);  // largest index with term <= 3
  CHECK(r.log_term == 2);     // ...and its term: the leader jumps past all of term 2 at once
}

TEST_CASE("core: restart keeps term, vote and log, and replays committed entries") {
  InitialState init;
  init.hard_state = HardState{5, 3, 4};
  init.snapshot = Snapshot{2, 1, "snap", {}};
  init.entries = ents(1, 6, 1);  // 1..2 covered by the snapshot: skipped
  Core c(opts(1), init);
  CHECK(c.term() == 5);
  CHECK(c.vote() == 3);
  CHECK(c.last_index() == 6);
  CHECK(c.applied() == 2);
  CHECK(c.commit() == 4);
  Ready rd = drain(c);
  CHECK_FALSE(rd.hard_state);  // nothing changed
  REQUIRE(rd.committed_entries.size() == 2);
  CHECK(rd.committed_entries[0].index == 3);
  CHECK(rd.committed_entries[1].index == 4);
  // A gap in stored entries is refused.
  InitialState bad;
  bad.entries = ents(1, 2, 1);
  auto e = ents(4, 4, 1);
  bad.entries.push_back(e[0]);
  CHECK_THROWS_AS(Core(opts(1), bad), std::invalid_argument);
}

TEST_CASE("core: misaddressed and malformed messages are ignored") {
  Core c(opts(2));
  Message m;
  m.type = MsgType::vote;
  m.from = 9;  // not a member, and we are a voter: only a (newer) leader's traffic is accepted from it
  m.to = 2;
  m.term = 4;
  c.step(m);
  m.type = MsgType::app;
  m.from = 1;
  m.to = 3;  // not us
  c.step(m);
  m.to = 2;
  m.entries = ents(5, 5, 4);  // does not follow index 0
  c.step(m);
  CHECK(c.term() == 0);
  CHECK_FALSE(c.has_ready());
}

namespace {

Message msg(MsgType type, uint64_t from, uint64_t to, uint64_t term) {
  Message m;
  m.type = type;
  m.from = from;
  m.to = to;
  m.term = term;
  return m;
}

// Makes node 1 of a 3-node cluster leader with node 2's votes.
void elect_node1(Core& c) {
  for (int i = 0; i < 4 * c.options().election_ticks && c.role() == Role::follower; ++i) c.tick();
  REQUIRE(c.role() == Role::pre_candidate);
  drain(c);
  Message pv = msg(MsgType::pre_vote_resp, 2, 1, c.term() + 1);
  c.step(pv);
  REQUIRE(c.role() == Role::candidate);
  drain(c);
  c.step(msg(MsgType::vote_resp, 2, 1, c.term()));
  REQUIRE(c.role() == Role::leader);
  drain(c);
}

}  // namespace

TEST_CASE("core: follower contact age resets only on its leader's messages of the current term") {
  Core c(opts(2));
  CHECK(c.leader_contact_age_ticks() == -1);  // no leader yet
  c.step(msg(MsgType::heartbeat, 1, 2, 2));   // leader 1 of term 2
  drain(c);
  REQUIRE(c.leader() == 1);
  CHECK(c.leader_contact_age_ticks() == 0);
  for (int i = 0; i < 3; ++i) c.tick();
  CHECK(c.leader_contact_age_ticks() == 3);

  // Another peer's message of the current term (a vote request, refused)...
  c.step(msg(MsgType::vote, 3, 2, 2));
  drain(c);
  CHECK(c.leader_contact_age_ticks() == 3);
  // ...and a heartbeat of a deposed leader of an older term do not count.
  c.step(msg(MsgType::heartbeat, 3, 2, 1));
  Ready rd = drain(c);
  REQUIRE(rd.messages.size() == 1);  // it is told our term
  CHECK(c.leader_contact_age_ticks() == 3);
  CHECK(c.leader() == 1);

  // The leader's heartbeat does; so do its appends.
  c.tick();
  CHECK(c.leader_contact_age_ticks() == 4);
  c.step(msg(MsgType::heartbeat, 1, 2, 2));
  drain(c);
  CHECK(c.leader_contact_age_ticks() == 0);
  c.tick();
  c.tick();
  Message app = msg(MsgType::app, 1, 2, 2);
  c.step(app);
  drain(c);
  CHECK(c.leader_contact_age_ticks() == 0);

  // A new term: contact with the old leader is no proof for it. Any
  // message of term 3 makes us a follower of term 3 without a known leader
  // (here a stray answer from node 3): no contact until the new leader speaks.
  c.tick();
  CHECK(c.leader_contact_age_ticks() == 1);
  c.step(msg(MsgType::app_resp, 3, 2, 3));
  drain(c);
  CHECK(c.term() == 3);
  CHECK(c.leader() == 0);
  CHECK(c.leader_contact_age_ticks() == -1);
  c.step(msg(MsgType::heartbeat, 3, 2, 3));
  drain(c);
  CHECK(c.leader() == 3);
  CHECK(c.leader_contact_age_ticks() == 0);
}

TEST_CASE("core: follower that campaigns has no leader contact") {
  Core c(opts(2));
  c.step(msg(MsgType::heartbeat, 1, 2, 1));
  drain(c);
  CHECK(c.leader_contact_age_ticks() == 0);
  for (int i = 0; i < 4 * c.options().election_ticks && c.role() == Role::follower; ++i) c.tick();
  REQUIRE(c.role() == Role::pre_candidate);
  CHECK(c.leader_contact_age_ticks() == -1);
}

TEST_CASE("core: leader contact age is the quorum's, itself counted as age 0") {
  Core c(opts(1));
  elect_node1(c);
  // Elected, but no follower has answered the leader of this term yet.
  CHECK(c.leader_contact_age_ticks() == -1);
  c.step(msg(MsgType::heartbeat_resp, 2, 1, c.term()));
  drain(c);
  CHECK(c.leader_contact_age_ticks() == 0);

  // One of two followers answering every tick keeps a 3-node quorum fresh.
  for (int i = 0; i < 3; ++i) {
    c.tick();
    drain(c);
    c.step(msg(MsgType::heartbeat_resp, 2, 1, c.term()));
    drain(c);
    CHECK(c.leader_contact_age_ticks() == 0);
  }
  // When it falls silent too, the age grows tick by tick (node 3 never answered).
  for (int i = 1; i <= 5; ++i) {
    c.tick();
    drain(c);
    REQUIRE(c.role() == Role::leader);
    CHECK(c.leader_contact_age_ticks() == i);
  }
  // Node 3 answers (a rejected append counts: it acknowledges this term).
  Message r = msg(MsgType::app_resp, 3, 1, c.term());
  r.reject = true;
  c.step(r);
  drain(c);
  CHECK(c.leader_contact_age_ticks() == 0);
  // The second-youngest answer decides: 3 at age 2, 2 at age 7.
  c.tick();
  c.tick();
  CHECK(c.leader_contact_age_ticks() == 2);
}

TEST_CASE("core: a single-node leader is always in contact") {
  CoreOptions o = opts(1, 1);
  Core c(o);
  for (int i = 0; i < 2 * o.election_ticks && c.role() != Role::leader; ++i) c.tick();
  REQUIRE(c.role() == Role::leader);
  for (int i = 0; i < 50; ++i) {
    c.tick();
    drain(c);
    CHECK(c.leader_contact_age_ticks() == 0);
  }
}

namespace {

// Three cores wired by hand: every Ready is carried out at once (no storage,
// no loss), messages are delivered in order to the cores that are up, except
// to and from a core in `cut` (fully partitioned). Proposal fates are kept.
struct Trio {
  std::vector<std::unique_ptr<Core>> cores;
  uint64_t seed = 99;
  std::set<uint64_t> cut;
  std::vector<std::pair<uint64_t, ProposalFate>> fates;  // {node, fate}
  Trio() {
    for (uint64_t i = 1; i <= 3; ++i) cores.push_back(std::make_unique<Core>(opts(i)));
  }
  Core& at(uint64_t id) { return *cores[id - 1]; }
  void pump() {
    for (bool more = true; more;) {
      more = false;
      std::vector<Message> out;
      for (auto& c : cores) {
        while (c->has_ready()) {
          Ready rd = c->ready();
          for (auto& m : rd.messages)
            if (!cut.count(m.from) && !cut.count(m.to)) out.push_back(m);
          for (auto& f : rd.proposals) fates.push_back({c->id(), f});
          c->advance(rd);
          more = true;
        }
      }
      for (auto& m : out) at(m.to).step(m);
    }
  }
  void tick() {
    for (auto& c : cores) c->tick();
    pump();
  }
  uint64_t leader() {
    for (auto& c : cores)
      if (c->role() == Role::leader) return c->id();
    return 0;
  }
  // A node whose state directory was moved aside: a brand-new core.
  void wipe(uint64_t id) {
    CoreOptions o = opts(id);
    o.seed = ++seed * 7919;
    cores[id - 1] = std::make_unique<Core>(o);
  }
};

}  // namespace

TEST_CASE("core: a follower wiped mid-run is caught up (probing, or a snapshot if compacted)") {
  bool compacted = GENERATE(false, true);
  Trio t;
  for (int i = 0; i < 100 && t.leader() == 0; ++i) t.tick();
  uint64_t lead = t.leader();
  REQUIRE(lead != 0);
  for (int i = 0; i < 20; ++i) t.at(lead).propose(label("v", static_cast<uint64_t>(i)));
  t.pump();
  t.tick();
  uint64_t last = t.at(lead).last_index();
  REQUIRE(t.at(lead).commit() == last);
  uint64_t victim = lead == 3 ? 2 : 3;
  REQUIRE(t.at(lead).progress(victim)->match == last);
  if (compacted) {
    t.at(lead).compact(t.at(lead).applied(), "state");
    REQUIRE(!t.at(lead).log().term(1));  // index 1 is gone: only a snapshot can help
  }

  t.wipe(victim);
  REQUIRE(t.at(victim).last_index() == 0);
  // The cluster is idle: no proposal forces an append. The wiped follower's
  // heartbeat answers alone must get it back within a few ticks.
  for (int i = 0; i < 10; ++i) t.tick();
  REQUIRE(t.leader() == lead);
  CHECK(t.at(victim).last_index() == last);
  CHECK(t.at(victim).commit() == last);
  CHECK(t.at(lead).progress(victim)->match == last);
  CHECK(t.at(lead).progress(victim)->state == Progress::State::replicate);
  if (compacted) CHECK(t.at(victim).log().snapshot().index == last);

  // And it keeps up with new entries.
  t.at(lead).propose("after");
  t.tick();
  CHECK(t.at(victim).commit() == last + 1);
}

TEST_CASE("progress: only the answer to the probe in flight may lower match") {
  Progress pr;
  pr.become_replicate();
  pr.maybe_update(10);
  pr.sent(12, 2);
  // A stale rejection (an app before match 10 was established) changes nothing.
  CHECK_FALSE(pr.maybe_decr_to(7, 0));
  CHECK(pr.match == 10);
  // A rejection above match sends the leader back to probing from match.
  CHECK(pr.maybe_decr_to(11, 0));
  CHECK(pr.match == 10);
  CHECK(pr.next == 11);
  pr.become_probe();
  pr.sent(10, 0);
  // Rejections of other probes (another index) are ignored, whatever their hint.
  CHECK_FALSE(pr.maybe_decr_to(8, 0));
  CHECK_FALSE(pr.maybe_decr_to(11, 0));
  CHECK(pr.match == 10);
  // The probe at match itself is rejected with hint 0: the follower lost its
  // log. Match drops to what it has, and the next probe starts there.
  CHECK(pr.maybe_decr_to(10, 0));
  CHECK(pr.match == 0);
  CHECK(pr.next == 1);
  CHECK_FALSE(pr.probe_sent);
  // A replayed copy of that rejection no longer answers the probe in flight.
  pr.sent(0, 0);
  CHECK_FALSE(pr.maybe_decr_to(10, 0));
  CHECK(pr.next == 1);
}

TEST_CASE("core: election priority — the holder stands at T, the others defer past it (issue 21)") {
  CoreOptions o = opts(2);
  o.election_ticks = 5;
  Core c(o);
  const int T = o.election_ticks;
  for (int i = 0; i < 20; ++i) {  // normal: a draw in [T, 2T)
    c.set_election_priority(ElectionPriority::normal);
    CHECK(c.randomized_election_timeout() >= T);
    CHECK(c.randomized_election_timeout() < 2 * T);
    c.set_election_priority(ElectionPriority::defer);  // [T + 2, 2T + 2)
    CHECK(c.randomized_election_timeout() >= T + 2);
    CHECK(c.randomized_election_timeout() < 2 * T + 2);
  }
  c.set_election_priority(ElectionPriority::first);
  CHECK(c.randomized_election_timeout() == T);
  // Follow a leader; silent for T ticks, the holder stands exactly then.
  c.step(msg(MsgType::heartbeat, 1, 2, 2));
  drain(c);
  for (int i = 0; i < T - 1; ++i) c.tick();
  CHECK(c.role() == Role::follower);
  c.tick();
  CHECK(c.role() == Role::pre_candidate);
  CHECK(c.randomized_election_timeout() == T);  // and again at T if this round fails
}

TEST_CASE("core: a follower silent for T - 1 ticks grants a pre-vote (check-quorum window one tick short)") {
  // Ticks run at each node's own phase: the first follower to time out (at
  // T) may ask one whose count is T - 1. Refused, the election took up to
  // 2T, past a lease holder's fence point (issue 21).
  CoreOptions o = opts(2);
  o.election_ticks = 5;
  Core c(o);
  c.step(msg(MsgType::heartbeat, 1, 2, 2));  // leader 1, term 2
  drain(c);
  for (int i = 0; i < o.election_ticks - 2; ++i) c.tick();
  Message pv = msg(MsgType::pre_vote, 3, 2, 3);
  pv.index = c.last_index();
  pv.log_term = c.log().last_term();
  c.step(pv);
  Ready rd = drain(c);
  CHECK(rd.messages.empty());  // T - 2: the leader may still be alive; ignored
  c.tick();                    // T - 1
  c.step(pv);
  rd = drain(c);
  REQUIRE(rd.messages.size() == 1);
  CHECK(rd.messages[0].type == MsgType::pre_vote_resp);
  CHECK_FALSE(rd.messages[0].reject);
}

TEST_CASE("core: a proposal on a leader cut off from its peers resolves as unknown after the timeout") {
  // Issue 21 item 7: such a proposal used to stay pending for the whole
  // partition (the deposed leader learns of no commit), and with it every
  // caller waiting for it.
  Trio t;
  for (int i = 0; i < 100 && t.leader() == 0; ++i) t.tick();
  const uint64_t lead = t.leader();
  REQUIRE(lead != 0);
  const int timeout = t.at(lead).options().proposal_timeout_ticks;
  REQUIRE(timeout == 3 * t.at(lead).options().election_ticks);  // the default
  t.cut.insert(lead);
  const uint64_t id = t.at(lead).propose("written while cut off");
  const uint64_t index = t.at(lead).last_index();
  t.pump();
  int ticks = 0;
  for (; ticks < 10 * timeout && t.fates.empty(); ++ticks) t.tick();
  REQUIRE(t.fates.size() == 1);
  CHECK(t.fates[0].first == lead);
  CHECK(t.fates[0].second.id == id);
  CHECK(t.fates[0].second.outcome == ProposalFate::Outcome::unknown);
  CHECK(t.fates[0].second.index == index);
  CHECK(t.fates[0].second.reason.find("may still commit") != std::string::npos);
  CHECK(ticks == timeout);
  CHECK(t.at(lead).role() != Role::leader);  // check-quorum stepped it down first

  // The caller may try again: the same request through the new leader commits.
  t.cut.clear();
  for (int i = 0; i < 100 && (t.leader() == 0 || t.at(lead).leader() == 0); ++i) t.tick();
  REQUIRE(t.at(lead).leader() != 0);
  t.fates.clear();
  const uint64_t again = t.at(lead).propose("written again");
  for (int i = 0; i < 10 && t.fates.empty(); ++i) t.tick();
  REQUIRE(t.fates.size() == 1);
  CHECK(t.fates[0].second.id == again);
  INFO(t.fates[0].second.reason);
  CHECK(t.fates[0].second.outcome == ProposalFate::Outcome::committed);
}

TEST_CASE("core: proposal_timeout_ticks is validated") {
  CoreOptions o = opts(1);
  o.proposal_timeout_ticks = -1;
  CHECK_THROWS_AS(Core(o), std::invalid_argument);
  o.proposal_timeout_ticks = 7;
  CHECK(Core(o).options().proposal_timeout_ticks == 7);
}
