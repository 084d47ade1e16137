// Unit tests for the day-two parts of the replicated state and the member
// status: pending restart in the status (format 7), scheduled restarts and
// switchovers in the state (version 6), flush, and their codecs.
#include <catch2/catch.hpp>

#include "ha/cluster_state.h"
#include "ha/member_status.h"
#include "support/ha_commands.h"

using namespace pw::node;

namespace {
ClusterState running_cluster() {
  ClusterState s;
  s.init = InitKind::done;
  s.primary = "n1";
  s.epoch = 3;
  s.ready_epoch = 3;
  return s;
}

Command restart_cmd(std::vector<std::string> members, int64_t at_ms, bool pending_only) {
  Command c = cmd(CmdType::schedule_restart);
  c.members = std::move(members);
  c.seq = static_cast<uint64_t>(at_ms);
  c.flag = pending_only;
  return c;
}

Command flush_cmd(const std::string& member, const std::string& what) {
  Command c = cmd(CmdType::flush, member);
  c.reason = what;
  return c;
}
}  // namespace

TEST_CASE("member status v7: the pending restart parameters; a v6 sender's are unknown, not none") {
  MemberStatus m;
  m.name = "n2";
  m.version = "0.2.0";
  m.pending_restart = {"max_connections", "shared_buffers"};
  auto d = MemberStatus::decode(m.encode());
  REQUIRE(d);
  CHECK(d->format == 7);
  CHECK(d->pending_restart_known);
  CHECK(d->pending_restart == m.pending_restart);
  CHECK(d->version == "0.2.0");
  // None pending: known and empty.
  m.pending_restart.clear();
  d = MemberStatus::decode(m.encode());
  REQUIRE(d);
  CHECK(d->pending_restart_known);
  CHECK(d->pending_restart.empty());
  // A member of format 6 (before pending restart) says nothing about it.
  std::string v6 = m.encode(6);
  CHECK(v6[0] == 6);
  auto old = MemberStatus::decode(v6);
  REQUIRE(old);
  CHECK_FALSE(old->pending_restart_known);
  CHECK(old->version == "0.2.0");
  // A truncated list is refused, as any short status.
  m.pending_restart = {"shared_buffers"};
  std::string full = m.encode();
  CHECK_FALSE(MemberStatus::decode(full.substr(0, full.size() - 3)));
}

TEST_CASE("day-two commands round-trip; their types are numbered apart and unknown ones are refused") {
  Command c = restart_cmd({"n2", "n3", "n1"}, 1796702400000, true);
  auto d = Command::decode(c.encode());
  REQUIRE(d);
  CHECK(d->type == CmdType::schedule_restart);
  CHECK(d->members == std::vector<std::string>{"n2", "n3", "n1"});
  CHECK(d->seq == 1796702400000u);
  CHECK(d->flag);
  for (CmdType t : {CmdType::restart_done, CmdType::schedule_switchover, CmdType::flush, CmdType::reload}) {
    auto x = Command::decode(cmd(t, "n2").encode());
    REQUIRE(x);
    CHECK(x->type == t);
  }
  // A type between the old ones and the day-two ones has no meaning here.
  std::string bytes = cmd(CmdType::reload).encode();
  bytes[1] = 30;
  CHECK_FALSE(Command::decode(bytes));
}

TEST_CASE("a restart plan runs in its order, one entry per member, until done or flushed") {
  ClusterState s = running_cluster();
  CHECK(apply_command(s, restart_cmd({"n2", "n3", "n1"}, 0, false), 10).applied);
  REQUIRE(s.restarts.size() == 3);
  CHECK(s.restarts[0] == ScheduledRestart{"n2", 0, false});
  CHECK(s.restarts[2].member == "n1");
  // One plan at a time.
  ApplyEffect e = apply_command(s, restart_cmd({"n3"}, 0, false), 11);
  CHECK_FALSE(e.applied);
  CHECK(e.why_rejected == "a restart is already scheduled");
  // Done: the member leaves the plan, the next one's turn comes.
  CHECK(apply_command(s, cmd(CmdType::restart_done, "n2"), 12).applied);
  REQUIRE(s.restarts.size() == 2);
  CHECK(s.restarts.front().member == "n3");
  CHECK_FALSE(apply_command(s, cmd(CmdType::restart_done, "n2"), 13).applied);  // a duplicate
  // Flush one member, then the rest.
  CHECK(apply_command(s, flush_cmd("n1", "restart"), 14).applied);
  REQUIRE(s.restarts.size() == 1);
  CHECK(apply_command(s, flush_cmd("", "restart"), 15).applied);
  CHECK(s.restarts.empty());
  CHECK_FALSE(apply_command(s, flush_cmd("", "restart"), 16).applied);
  // The epoch and the history are not touched by any of it.
  CHECK(s.epoch == 3);
  CHECK(s.history.empty());
  CHECK_FALSE(apply_command(s, restart_cmd({}, 0, false), 17).applied);
}

TEST_CASE("a scheduled switchover waits in the state; the switchover it becomes, or a flush, clears it") {
  ClusterState s = running_cluster();
  Command w = cmd(CmdType::schedule_switchover, "n1", 0, "n2");
  w.seq = 1796702400000;
  CHECK_FALSE(apply_command(s, cmd(CmdType::schedule_switchover, "n2", 0, "n3"), 5).applied);  // not the primary
  CHECK(apply_command(s, w, 6).applied);
  REQUIRE(s.scheduled_switchover);
  CHECK(*s.scheduled_switchover == ScheduledSwitchover{"n1", "n2", 1796702400000});
  CHECK_FALSE(s.switchover);  // nothing runs yet
  CHECK_FALSE(apply_command(s, w, 7).applied);  // one at a time
  CHECK(apply_command(s, flush_cmd("", "switchover"), 8).applied);
  CHECK_FALSE(s.scheduled_switchover);
  CHECK_FALSE(apply_command(s, flush_cmd("", "switchover"), 9).applied);
  CHECK_FALSE(apply_command(s, flush_cmd("", "everything"), 9).applied);
  // Due: the primary proposes the switchover, which takes the schedule's place.
  CHECK(apply_command(s, w, 10).applied);
  CHECK(apply_command(s, cmd(CmdType::switchover, "n1", 0, "n2"), 11).applied);
  CHECK_FALSE(s.scheduled_switchover);
  REQUIRE(s.switchover);
  CHECK(s.switchover->second == "n2");
}

TEST_CASE("state v6 snapshots carry the schedules; a v5 snapshot reads as nothing scheduled") {
  ClusterState s = running_cluster();
  REQUIRE(apply_command(s, restart_cmd({"n3", "n1"}, 42, true), 3).applied);
  Command w = cmd(CmdType::schedule_switchover, "n1", 0, "");
  w.seq = 77;
  REQUIRE(apply_command(s, w, 4).applied);
  auto d = ClusterState::decode(s.encode());
  REQUIRE(d);
  CHECK(*d == s);
  // A version-5 snapshot (before schedules): the same bytes without the
  // trailing schedules.
  ClusterState plain = running_cluster();
  std::string v6 = plain.encode();
  CHECK(v6[0] == 6);
  std::string v5 = v6.substr(0, v6.size() - 5);  // u32 0 restarts + no switchover
  v5[0] = 5;
  auto old = ClusterState::decode(v5);
  REQUIRE(old);
  CHECK(*old == plain);
  CHECK_FALSE(ClusterState::decode(s.encode() + "x"));
}

TEST_CASE("reload changes nothing in the state") {
  ClusterState s = running_cluster();
  ClusterState before = s;
  Command c = cmd(CmdType::reload);
  c.members = {"n2"};
  CHECK(apply_command(s, c, 9).applied);
  CHECK(s == before);
}
