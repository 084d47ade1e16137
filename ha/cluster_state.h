// ha/cluster_state.h — the replicated state machine (DESIGN §3): the
// commands the decider and agents propose through Raft, and their
// deterministic application. Pure: no clock, no I/O. Wall-clock times in
// history come from the proposer inside the command, never from apply().
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "consensus/state_machine.h"

namespace pw::node {

enum class CmdType : uint8_t {
  claim = 1,          // decider: `node` may run initdb
  clear_claim = 2,    // decider: the claim of `node` timed out / failed
  bootstrap_done = 3, // claimant: init = Done{system_id}; primary = node (new epoch)
  adopt = 4,          // decider: existing data of `node` becomes the cluster
  set_primary = 5,    // decider: primary = node, epoch = expect_epoch + 1 (CAS); seq = the
                      // index the decider had applied: refused if the holder renewed since
  renew = 6,          // holder: lease renewal of `epoch` (seq for logs)
  ready = 7,          // holder: epoch's primary accepts writes; `timeline` = the one it writes on
  release = 8,        // holder: gives up the lock of `epoch`; `to` = successor or ""
  switchover = 9,     // operator: planned change from `node` to `to` ("" = best)
  clear_switchover = 10,
  pause = 11,         // operator: flag = paused?
  reinit = 12,        // operator: member `node` re-clones
  reinit_done = 13,   // agent: `node` finished re-cloning
  reset_cluster = 14, // operator: forget init (the seed's case)
  set_sync = 15,      // holder: synchronous standby set = members; seq = how many of them hold
                      // every acknowledged commit (PostgreSQL's ANY k; 0 = 1, older senders)
  barrier = 16,       // new decider: no effect; once applied, it has applied
                      // everything committed before its term (decider_runner.cc)
  request_failover = 17,  // operator: failover to `node` once the holder of `epoch` is gone;
                          // carried out by the decider (after its barrier and lease wait);
                          // flag = the operator accepts losing acknowledged writes
  request_reset = 18,     // operator: reset-cluster once no holder can write; carried out
                          // by the decider
  mark_removal = 19,      // operator: member `node` is being removed (phase 1 of `member remove`):
                          // never chosen for the synchronous set, never granted the lock
  end_removal = 20,       // raft leader: the removal of `node` is over (flag = it was removed;
                          // else withdrawn); `reason` says why, for the operator
  // Day two (docs/operations.md): numbered apart from the others so that
  // commands added meanwhile elsewhere cannot take the same values.
  schedule_restart = 40,  // operator: restart the PostgreSQL of `members`, in that order, one at a
                          // time, from wall-clock `seq` (ms since the epoch; 0 = now); flag = only
                          // those with a pending restart
  restart_done = 41,      // agent: `node` restarted (or had nothing pending): its turn is over
  schedule_switchover = 42,  // operator: switchover from `node` to `to` ("" = best) at wall-clock
                             // `seq` (ms); carried out by the primary when due
  flush = 43,             // operator: cancel what `reason` names ("restart": of `node`, or every
                          // one when `node` is ""; "switchover": the scheduled switchover)
  reload = 44,            // operator: pg_reload_conf on `members` (every member when empty); no
                          // state change, each member acts when it applies it
};
const char* cmd_name(CmdType t);

struct Command {
  CmdType type = CmdType::renew;
  std::string node;             // subject member
  std::string to;               // successor (release, switchover)
  uint64_t epoch = 0;           // renew/ready/release: the epoch; set_primary: expected current
  uint64_t seq = 0;
  uint64_t system_id = 0;
  uint32_t timeline = 0;
  uint64_t lsn = 0;
  bool flag = false;
  int64_t wall_ms = 0;          // proposer's wall clock, for history only
  std::string reason;
  std::vector<std::string> members;

  std::string encode() const;
  static std::optional<Command> decode(const std::string& bytes);
};

enum class InitKind : uint8_t { absent = 0, claimed = 1, done = 2 };

struct HistoryEntry {
  uint64_t epoch = 0;
  std::string node;
  uint32_t timeline = 0;
  uint64_t lsn = 0;
  int64_t wall_ms = 0;
  std::string reason;
  bool operator==(const HistoryEntry&) const = default;
};

/// One member's turn in a (rolling, possibly scheduled) restart of
/// PostgreSQL: the list is run in order, one member at a time.
struct ScheduledRestart {
  std::string member;
  int64_t at_ms = 0;          // wall clock; 0 = as soon as it is its turn
  bool pending_only = false;  // skipped when the member reports no pending restart
  bool operator==(const ScheduledRestart&) const = default;
};

/// A switchover waiting for its time.
struct ScheduledSwitchover {
  std::string from, to;       // to "" = the best standby
  int64_t at_ms = 0;          // wall clock
  bool operator==(const ScheduledSwitchover&) const = default;
};

/// The whole replicated state. Copyable value.
struct ClusterState {
  InitKind init = InitKind::absent;
  std::string init_node;        // claimant, or the node whose data was adopted/initdb'd
  uint64_t system_id = 0;
  uint64_t claim_index = 0;     // raft index of the current claim
  std::set<std::string> failed_claimants;  // cleared claims: not asked again until reset

  std::string primary;          // "" = no lock holder
  uint64_t epoch = 0;           // fencing token: +1 on every change of holder
  uint64_t ready_epoch = 0;
  std::vector<std::string> sync;  // C: the committed synchronous set
  uint32_t sync_acks = 0;         // every acknowledged commit is on at least this many members
                                  // of C (PostgreSQL's ANY k); 0 = 1 (states from before it)
  std::optional<std::pair<std::string, std::string>> switchover;  // {from, to}
  bool paused = false;
  std::set<std::string> reinit;
  std::string failover_to;      // pending operator failover target ("" = none)
  uint64_t failover_epoch = 0;  // ... requested while this epoch was current
  bool failover_accept_loss = false;  // ... and the operator accepts losing acknowledged writes
  bool reset_requested = false; // pending operator reset-cluster
  uint64_t renew_index = 0;     // raft index of the last applied renewal of `epoch`
  // Timelines (docs/operations.md, "Timelines"). PostgreSQL picks a promoted
  // server's timeline from the history files it happens to have; these make
  // the choice cluster-wide and survive restarts of every daemon.
  uint32_t ready_timeline = 0;  // the timeline the primary of ready_epoch writes on (0 = not recorded)
  uint32_t max_timeline = 0;    // no server of this cluster ran on, or was handed, a higher timeline
                                // id; the holder of `epoch` promotes onto at least this one
  std::vector<HistoryEntry> history;  // newest last, bounded
  uint64_t failovers = 0, switchovers = 0;
  // `member remove` in two phases (membership_controller.h): while
  // `removing` names a member, no command may make it the lock holder or add
  // it to the synchronous set; the raft leader re-checks the refusals on this
  // state, then changes the raft configuration or withdraws the mark.
  std::string removing;         // member being removed ("" = none)
  std::string removal_note;     // how the last removal ended ("X removed" / "... withdrawn: why")
  // Day two (state version 5): kept here so they survive a leader change.
  std::vector<ScheduledRestart> restarts;  // in the order they run
  std::optional<ScheduledSwitchover> scheduled_switchover;

  bool operator==(const ClusterState&) const = default;
  std::string encode() const;
  static std::optional<ClusterState> decode(const std::string& bytes);
};

/// What one apply() did, for observers that keep time-dependent views
/// (the lease tracker, the agent). `applied` is false when the command was
/// rejected (stale epoch, wrong claimant, ...) and left the state unchanged.
struct ApplyEffect {
  bool applied = false;
  CmdType type = CmdType::renew;
  bool primary_changed = false;
  std::string why_rejected;
};

/// The holder of the newest epoch that became `ready` (the last primary
/// clients could write to) and the holders of every epoch after it (each
/// was chosen holding all of that primary's acknowledged commits, or
/// replayed its final WAL in a switchover).
std::vector<std::string> last_holders(const ClusterState& s);

/// How many members of the committed set C hold every acknowledged commit
/// (at least 1, at most |C|).
size_t sync_ack_count(const ClusterState& s);
/// The quorum-commit rule: a failover must hear this many members of C
/// (|C| - sync_acks + 1): any acknowledged commit is then on one of them.
size_t sync_needed(const ClusterState& s);
/// `member` is in the committed synchronous set C.
bool in_sync_set(const ClusterState& s, const std::string& member);
/// Why member `node` may not be marked for removal now ("" = it may):
/// it holds or is being handed the lock, bootstraps the cluster, or another
/// removal is pending. The same rule apply_command enforces.
std::string removal_mark_refusal(const ClusterState& s, const std::string& node);
/// The timeline the holder of the current epoch must promote onto at least
/// (pgctl::Postgres::promote's min_timeline); 0 = no floor recorded.
inline uint32_t promotion_floor(const ClusterState& s) { return s.max_timeline; }

/// Applies `cmd` to `s` deterministically.
ApplyEffect apply_command(ClusterState& s, const Command& cmd, uint64_t index);

constexpr size_t kMaxHistory = 200;

/// Adapter to consensus::StateMachine: decodes entries, applies them and
/// notifies an observer with the command and its effect.
class ClusterStateMachine : public consensus::StateMachine {
 public:
  using Observer = void (*)(void* ctx, uint64_t index, const Command&, const ApplyEffect&);
  void set_observer(Observer fn, void* ctx) { obs_ = fn; obs_ctx_ = ctx; }
  void set_restore_observer(void (*fn)(void*), void* ctx) { robs_ = fn; robs_ctx_ = ctx; }
  void apply(uint64_t index, const std::string& data) override;
  std::string snapshot() const override { return state_.encode(); }
  bool restore(const std::string& data) override;
  const ClusterState& state() const { return state_; }
  uint64_t last_index() const { return last_index_; }

 private:
  ClusterState state_;
  uint64_t last_index_ = 0;
  Observer obs_ = nullptr;
  void* obs_ctx_ = nullptr;
  void (*robs_)(void*) = nullptr;
  void* robs_ctx_ = nullptr;
};

}  // namespace pw::node
