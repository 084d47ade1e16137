// Unit tests of node::MemberView's duplicate filter (issue 12): a restarted
// member's statuses are taken at once, reordered duplicates still dropped.
// The fault harness found a restarted member ignored for minutes when every
// daemon numbered its statuses from 1.
#include <catch2/catch.hpp>

#include "ha/member_view.h"

using namespace pw::node;

namespace {
const std::vector<std::string> kMembers = {"n1", "n2", "n3"};
}

TEST_CASE("a restarted member's statuses are heard at once, reordered duplicates are not") {
  MemberView receiver("n1", kMembers, 1000, 0);
  bool acked = false;
  // First incarnation of n2, started at wall clock T (µs base), sends 600 statuses.
  const uint64_t t_us = 1700000000000ull * 1000;
  MemberView n2("n2", kMembers, 1000, 0, t_us);
  std::string old_msg;
  for (int i = 0; i < 600; ++i) {
    std::string m = n2.next_own_message(i);
    if (i == 300) old_msg = m;
    REQUIRE(receiver.received("n2", m, i, &acked));
  }
  // A copy of an older status arriving late is dropped.
  CHECK_FALSE(receiver.received("n2", old_msg, 700, &acked));
  // n2 restarts 5 s later: its first status is taken, and it is fresh.
  MemberView n2_again("n2", kMembers, 1000, 0, t_us + 5000 * 1000);
  n2_again.own().lsn = 42;
  REQUIRE(receiver.received("n2", n2_again.next_own_message(5000), 5000, &acked));
  const MemberStatus* st = receiver.fresh("n2", 5500);
  REQUIRE(st != nullptr);
  CHECK(st->lsn == 42);
}
