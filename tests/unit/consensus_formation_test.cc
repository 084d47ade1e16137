// tests/unit/consensus_formation_test.cc — the formation rule
// (consensus/formation.h): a node without a cluster id admits a peer's id
// only when enough voters announce it that the others could never form a
// quorum without them, or when its own log starts with it. One case per
// flow that must keep working (restart, moved-aside member, member add,
// recover survivors) and per stale-state layout that must be refused.
#include <catch2/catch.hpp>

#include "consensus/formation.h"
#include "consensus/handshake.h"

using namespace pw::consensus;

namespace {

constexpr uint64_t kOld = 0x0123456789abcdefull;  // the stale state dir's cluster id

// Voters n1..n<voters> (ids 1..), then learners; self is `self`.
FormationView view(int voters, uint64_t self, int learners = 0) {
  std::vector<MemberInfo> ms;
  for (int i = 1; i <= voters + learners; ++i) {
    MemberInfo m;
    m.id = static_cast<uint64_t>(i);
    m.name = "n" + std::to_string(i);
    m.host = "10.0.0." + std::to_string(i);
    m.port = 5010;
    m.voter = i <= voters;
    ms.push_back(m);
  }
  FormationView v;
  v.membership.epoch = 7;  // a committed one: seed_membership() would make every member a voter
  v.membership.next_id = static_cast<uint64_t>(voters + learners + 1);
  v.membership.members = ms;
  v.self_id = self;
  v.self_name = "n" + std::to_string(self);
  return v;
}

}  // namespace

TEST_CASE("formation: blocking_count is ceil(voters / 2)", "[formation]") {
  CHECK(blocking_count(1) == 1);
  CHECK(blocking_count(2) == 1);
  CHECK(blocking_count(3) == 2);
  CHECK(blocking_count(4) == 2);
  CHECK(blocking_count(5) == 3);
  CHECK(blocking_count(7) == 4);
}

TEST_CASE("formation: one stale member of three is refused by the two empty ones", "[formation]") {
  // The case: n1 kept an earlier cluster's state dir (same name and
  // members), n2 and n3 start empty. n2 must not adopt n1's history.
  FormationView v = view(3, 2);
  v.announced = {{1, kOld}, {3, 0}};
  std::string why = formation_refusal(v, 1, kOld);
  INFO(why);
  CHECK(why.rfind(kUnconfirmedClusterId, 0) == 0);
  CHECK(why.find("member 'n1' announces cluster id " + cluster_id_text(kOld)) != std::string::npos);
  CHECK(why.find("1 of the 3 voters announce (n1)") != std::string::npos);
  CHECK(why.find("once 2 voters announce its id") != std::string::npos);
  CHECK(why.find("this node 'n2'") != std::string::npos);
  // Before n3 was heard at all, the same.
  v.announced = {{1, kOld}};
  CHECK_FALSE(formation_refusal(v, 1, kOld).empty());
  // Peers without an id (empty, or from before cluster ids) are always admitted.
  CHECK(formation_refusal(v, 3, 0).empty());
}

TEST_CASE("formation: a member whose state dir was moved aside joins when the others confirm",
          "[formation]") {
  // The fix the diagnostics give (and a normal restart of the others): n3
  // starts empty, n1 and n2 hold the cluster's state.
  FormationView v = view(3, 3);
  v.announced = {{1, kOld}};
  CHECK_FALSE(formation_refusal(v, 1, kOld).empty());  // one of them: not yet
  v.announced = {{1, kOld}, {2, kOld}};
  CHECK(formation_refusal(v, 1, kOld).empty());
  CHECK(formation_refusal(v, 2, kOld).empty());
  // Two members announcing different ids confirm neither.
  v.announced = {{1, kOld}, {2, kOld + 1}};
  CHECK_FALSE(formation_refusal(v, 1, kOld).empty());
  CHECK_FALSE(formation_refusal(v, 2, kOld + 1).empty());
}

TEST_CASE("formation: five voters need three announcing the id", "[formation]") {
  // Two stale members of five: the three empty ones are a quorum and form a
  // new cluster. Three with the same state: the empty two can never be a
  // quorum without them, so they join.
  FormationView v = view(5, 5);
  v.announced = {{1, kOld}, {2, kOld}, {3, 0}, {4, 0}};
  std::string why = formation_refusal(v, 1, kOld);
  CHECK(why.find("2 of the 5 voters announce (n1, n2)") != std::string::npos);
  CHECK(why.find("once 3 voters") != std::string::npos);
  v.announced[3] = kOld;
  CHECK(formation_refusal(v, 1, kOld).empty());
}

TEST_CASE("formation: a node whose own log starts with the id admits it", "[formation]") {
  // It took part in forming that cluster (entry 1 appended, not yet applied
  // when it restarted): its own log is the confirmation.
  FormationView v = view(3, 2);
  v.own_log_id = kOld;
  v.announced = {{3, kOld}};
  CHECK(formation_refusal(v, 3, kOld).empty());
  CHECK_FALSE(formation_refusal(v, 3, kOld + 1).empty());
}

TEST_CASE("formation: member add and recover survivors still join", "[formation]") {
  // `ctl member add n4`: n4 joins with the membership it was given (voters
  // n1..n3, itself a learner); two of the three voters confirm.
  FormationView add = view(3, 4, 1);
  add.announced = {{1, kOld}};
  CHECK_FALSE(formation_refusal(add, 1, kOld).empty());
  add.announced = {{1, kOld}, {2, kOld}};
  CHECK(formation_refusal(add, 1, kOld).empty());
  // `recover --force-members n1,n2`: n2 starts empty with the membership
  // {n1, n2} it was given; n1 alone confirms (1 of 2).
  FormationView rec = view(2, 2);
  rec.announced = {{1, kOld}};
  CHECK(formation_refusal(rec, 1, kOld).empty());
}

TEST_CASE("formation: learners do not confirm an id", "[formation]") {
  FormationView v = view(3, 3, 2);  // voters n1..n3, learners n4, n5
  v.announced = {{1, kOld}, {4, kOld}, {5, kOld}};
  std::string why = formation_refusal(v, 4, kOld);
  CHECK(why.find("1 of the 3 voters announce (n1)") != std::string::npos);
}
