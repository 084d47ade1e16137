// Unit tests of node::MemberView's duplicate filter (issue 12): a restarted
// member's statuses are taken at once, reordered duplicates still dropped.
// The fault harness found a restarted member ignored for minutes when every
// daemon numbered its statuses from 1. And the status format gossiped in a
// mixed-version cluster: the oldest a member sent.
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

TEST_CASE("the gossiped status format is the oldest a member sent, and rises once it is upgraded") {
  MemberView n1("n1", kMembers, 1000, 0);
  n1.own().version = "new";
  bool acked = false;
  // Nobody heard yet: our format.
  CHECK(n1.send_format() == kStatusFormat);
  CHECK(static_cast<uint8_t>(n1.next_own_message(1)[0]) == kStatusFormat);
  // n2 runs a version whose status is format 4 (it refuses anything newer).
  MemberStatus old_n2;
  old_n2.name = "n2";
  old_n2.seq = 1;
  REQUIRE(n1.received("n2", old_n2.encode(4), 2, &acked));
  CHECK(n1.send_format() == 4);
  std::string msg = n1.next_own_message(3);
  CHECK(msg[0] == 4);
  auto seen_by_old = MemberStatus::decode(msg);
  REQUIRE(seen_by_old);
  CHECK(seen_by_old->version.empty());  // the old format has no room for it
  // n2 upgraded: it sends the new format, and so do we again.
  MemberStatus new_n2 = old_n2;
  new_n2.seq = 2;
  new_n2.version = "new";
  REQUIRE(n1.received("n2", new_n2.encode(), 4, &acked));
  CHECK(n1.send_format() == kStatusFormat);
  CHECK(n1.fresh("n2", 5)->version == "new");
}

// sim_ha seed 96193433550:5 (I3). The leader kept granting the old route to
// n3 after it last heard from n3, until it applied the holder's release; a
// silence counted from n3's last status let the new primary take writes
// while n3 could still route to the old holder. Silence counts from the
// release at the earliest.
TEST_CASE("a member silent since before a release is waited for a full window after the release") {
  MemberView v("n1", kMembers, 1000, 0);
  bool acked = false;
  MemberView n2("n2", kMembers, 1000, 0);
  MemberView n3("n3", kMembers, 1000, 0);
  n3.own().acked_epoch = 5;
  REQUIRE(v.received("n3", n3.next_own_message(100), 100, &acked));  // last heard at 100
  n2.own().acked_epoch = 7;
  REQUIRE(v.received("n2", n2.next_own_message(1000), 1000, &acked));
  const int64_t silence = 600, release_at = 1000;
  // Without a release, n3 is past its window at 800 (the expiry path stays fast).
  CHECK(v.all_acked(7, 800, silence));
  // After a release applied at 1000, n3 may hold a grant until 1000 + window.
  CHECK_FALSE(v.all_acked(7, 1100, silence, release_at));
  CHECK_FALSE(v.all_acked(7, 1600, silence, release_at));
  CHECK(v.all_acked(7, 1601, silence, release_at));
}
