// ha/agent_context.cc — see agent_context.h.
#include "ha/agent_context.h"

#include <algorithm>

#include "base/log.h"

namespace pw::node {

namespace {
std::vector<std::string> names_of(const conf::Config& cfg) {
  std::vector<std::string> v;
  for (const auto& m : cfg.members) v.push_back(m.name);
  return v;
}
}  // namespace

AgentContext::AgentContext(const conf::Config& c, AgentWorld& w, ClusterStateMachine& s, pgctl::Postgres& pg,
                           FencerPort& f)
    : cfg(c),
      world(w),
      sm(s),
      fencer(f),
      lease(LeaseParams{c.ha_lease_ms, c.ha_max_clock_drift, c.ha_fence_grace_ms, c.ha_fence_margin_ms}),
      local(pg),
      // A status is fresh for four loop turns (at least a second).
      // Status numbers start at the wall clock in microseconds: a restarted
      // daemon numbered from 1 again, and peers dropped its statuses as
      // "reordered duplicates" until the count passed its predecessor's —
      // minutes during which the decider saw the member as unreachable and
      // synchronous-mode failover was blocked (found by the fault harness).
      // Status messages are far rarer than one per microsecond, so a
      // successor always starts above; a clock stepped back by more than
      // the duplicate window (1000) is taken as a restart anyway.
      members(c.node_name, names_of(c), std::max<int64_t>(1000, 4 * c.ha_loop_interval_ms), w.mono_ms(),
              static_cast<uint64_t>(std::max<int64_t>(0, w.wall_ms())) * 1000),
      activity(
          w, [this] { return state().epoch; }, [this] { local.refresh(); }, [this] { kick(); }) {
  members.own().nofailover = c.tag_nofailover;
  members.own().priority = c.tag_priority;
  refresh_roster();
}

ProposalOutcome outcome_of(const consensus::ProposalResult& r) {
  if (r.committed) return ProposalOutcome::committed;
  return r.maybe_committed ? ProposalOutcome::unknown : ProposalOutcome::dropped;
}

void AgentContext::propose(Command c, std::function<void(ProposalOutcome)> then) {
  c.wall_ms = world.wall_ms();
  if (!raft) {
    if (then) then(ProposalOutcome::dropped);
    return;
  }
  std::string what = cmd_name(c.type);
  raft->propose(c.encode(), [this, what, then](const consensus::ProposalResult& r) {
    ProposalOutcome o = outcome_of(r);
    if (o == ProposalOutcome::dropped)
      PW_INFO("agent", "proposal %s dropped: %s", what.c_str(), r.error.c_str());
    else if (o == ProposalOutcome::unknown)
      PW_INFO("agent", "proposal %s: outcome unknown, it may still commit: %s", what.c_str(), r.error.c_str());
    if (then) then(o);
    kick();
  });
}

void AgentContext::release(uint64_t epoch, const std::string& to, uint64_t lsn, const std::string& reason) {
  if (release_proposed == epoch) return;
  release_proposed = epoch;
  // Once the release commits, the decider may hand the lock on at once (no
  // lease wait), so the lease ends here, before the proposal leaves. Our
  // PostgreSQL is down or stopped cleanly by now; the renewer stops too.
  lease.hold.reset();
  Command c;
  c.type = CmdType::release;
  c.node = self();
  c.epoch = epoch;
  c.to = to;
  c.lsn = lsn;
  c.timeline = local.timeline();  // for the history; the successor's id is reserved at apply
  c.reason = reason;
  propose(c, [this, epoch](ProposalOutcome o) {
    // Not known to be committed (no leader known, leadership lost, outcome
    // unknown): ask again next turn; the state machine ignores a second
    // release of the same epoch.
    if (o != ProposalOutcome::committed && release_proposed == epoch) release_proposed = 0;
  });
}

int64_t AgentContext::fresh_since() const {
  if (!raft) return 0;
  int64_t contact = raft->leader_contact_ms();
  if (contact <= 0 || now() - contact >= cfg.ha_lease_ms / 2) return 0;
  return contact;
}

bool AgentContext::refresh_roster() {
  consensus::Membership m = raft ? raft->membership() : consensus::Membership{};
  uint64_t epoch = m.epoch;
  if (epoch == roster_epoch_) return false;
  std::vector<RosterEntry> r;
  if (epoch == 0) {
    for (size_t i = 0; i < cfg.members.size(); ++i) {
      const auto& x = cfg.members[i];
      r.push_back({i + 1, x.name, x.host, x.raft_port, true, false});
    }
  } else {
    for (const auto& x : m.members) r.push_back({x.id, x.name, x.host, x.port, x.voter, x.stay_learner});
  }
  roster_ = std::move(r);
  roster_epoch_ = epoch;
  members.set_members(member_names());
  if (epoch != 0) PW_INFO("agent", "members (epoch %llu): %s", (unsigned long long)epoch, m.describe().c_str());
  return true;
}

bool AgentContext::is_member(const std::string& name) const {
  return std::any_of(roster_.begin(), roster_.end(), [&](const RosterEntry& e) { return e.name == name; });
}

std::string AgentContext::host_of(const std::string& member) const {
  for (const auto& m : roster_)
    if (m.name == member) return m.host;
  return {};
}
std::vector<std::string> AgentContext::member_names() const {
  std::vector<std::string> v;
  for (const auto& m : roster_) v.push_back(m.name);
  return v;
}
std::vector<std::string> AgentContext::other_members() const {
  std::vector<std::string> v;
  for (const auto& m : roster_)
    if (m.name != cfg.node_name) v.push_back(m.name);
  return v;
}
uint64_t AgentContext::member_id(const std::string& name) const {
  for (const auto& m : roster_)
    if (m.name == name) return m.id;
  return 0;
}
std::string AgentContext::member_name(uint64_t id) const {
  for (const auto& m : roster_)
    if (m.id == id) return m.name;
  return {};
}

}  // namespace pw::node
