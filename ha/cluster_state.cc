// ha/cluster_state.cc — encoding and deterministic application of the
// cluster state's commands. Every command that names an epoch is a
// compare-and-set against the current one, so a stale decider or a deposed
// holder can never move the lock: its command is applied as a no-op.
#include "ha/cluster_state.h"

#include <algorithm>

#include "ha/bytes.h"

namespace pw::node {

namespace {
constexpr uint8_t kCmdVersion = 1;
// 2: operator requests (failover_to, reset_requested); 3: sync_acks,
// failover_accept_loss; 4: timelines (ready_timeline, max_timeline); 5: a
// pending member removal (removing, removal_note). Older snapshots still
// decode (the new fields read as 0: q = 1, the strictest rule; no timeline
// floor recorded yet, PostgreSQL's own choice; no removal pending); 6: scheduled restarts and switchover (none in older
// snapshots).
constexpr uint8_t kStateVersion = 6;
constexpr uint32_t kMaxItems = 4096;

void add_history(ClusterState& s, const Command& c, const std::string& node, std::string reason) {
  s.history.push_back({s.epoch, node, c.timeline, c.lsn, c.wall_ms, std::move(reason)});
  if (s.history.size() > kMaxHistory) s.history.erase(s.history.begin());
}

// A new holder will promote (a standby's directory always does): it is
// handed the next timeline id above every one the cluster used or handed
// out before, recorded *before* the promotion happens, so that even a holder
// lost between its promotion and its `ready` leaves its id taken.
void reserve_timeline(ClusterState& s, uint32_t candidate_timeline) {
  s.max_timeline = std::max(s.max_timeline, candidate_timeline) + 1;
}

ApplyEffect rejected(CmdType t, std::string why) {
  ApplyEffect e;
  e.type = t;
  e.why_rejected = std::move(why);
  return e;
}
}  // namespace

const char* cmd_name(CmdType t) {
  switch (t) {
    case CmdType::claim: return "claim";
    case CmdType::clear_claim: return "clear_claim";
    case CmdType::bootstrap_done: return "bootstrap_done";
    case CmdType::adopt: return "adopt";
    case CmdType::set_primary: return "set_primary";
    case CmdType::renew: return "renew";
    case CmdType::ready: return "ready";
    case CmdType::release: return "release";
    case CmdType::switchover: return "switchover";
    case CmdType::clear_switchover: return "clear_switchover";
    case CmdType::pause: return "pause";
    case CmdType::reinit: return "reinit";
    case CmdType::reinit_done: return "reinit_done";
    case CmdType::reset_cluster: return "reset_cluster";
    case CmdType::set_sync: return "set_sync";
    case CmdType::barrier: return "barrier";
    case CmdType::request_failover: return "request_failover";
    case CmdType::request_reset: return "request_reset";
    case CmdType::mark_removal: return "mark_removal";
    case CmdType::end_removal: return "end_removal";
    case CmdType::schedule_restart: return "schedule_restart";
    case CmdType::restart_done: return "restart_done";
    case CmdType::schedule_switchover: return "schedule_switchover";
    case CmdType::flush: return "flush";
    case CmdType::reload: return "reload";
  }
  return "unknown";
}

std::string Command::encode() const {
  ByteWriter w;
  w.u8(kCmdVersion);
  w.u8(static_cast<uint8_t>(type));
  w.str(node);
  w.str(to);
  w.u64(epoch);
  w.u64(seq);
  w.u64(system_id);
  w.u32(timeline);
  w.u64(lsn);
  w.boolean(flag);
  w.i64(wall_ms);
  w.str(reason);
  w.u32(static_cast<uint32_t>(members.size()));
  for (const auto& m : members) w.str(m);
  return w.take();
}

std::optional<Command> Command::decode(const std::string& bytes) {
  ByteReader r(bytes);
  if (r.u8() != kCmdVersion) return std::nullopt;
  Command c;
  uint8_t t = r.u8();
  // Types are not contiguous: a value without a name is unknown here.
  if (std::string(cmd_name(static_cast<CmdType>(t))) == "unknown") return std::nullopt;
  c.type = static_cast<CmdType>(t);
  c.node = r.str();
  c.to = r.str();
  c.epoch = r.u64();
  c.seq = r.u64();
  c.system_id = r.u64();
  c.timeline = r.u32();
  c.lsn = r.u64();
  c.flag = r.boolean();
  c.wall_ms = r.i64();
  c.reason = r.str();
  uint32_t n = r.count(kMaxItems);
  for (uint32_t i = 0; i < n && r.ok(); ++i) c.members.push_back(r.str());
  if (!r.ok() || !r.at_end()) return std::nullopt;
  return c;
}

std::string ClusterState::encode() const {
  ByteWriter w;
  w.u8(kStateVersion);
  w.u8(static_cast<uint8_t>(init));
  w.str(init_node);
  w.u64(system_id);
  w.u64(claim_index);
  w.u32(static_cast<uint32_t>(failed_claimants.size()));
  for (const auto& m : failed_claimants) w.str(m);
  w.str(primary);
  w.u64(epoch);
  w.u64(ready_epoch);
  w.u32(static_cast<uint32_t>(sync.size()));
  for (const auto& m : sync) w.str(m);
  w.boolean(switchover.has_value());
  if (switchover) {
    w.str(switchover->first);
    w.str(switchover->second);
  }
  w.boolean(paused);
  w.u32(static_cast<uint32_t>(reinit.size()));
  for (const auto& m : reinit) w.str(m);
  w.u32(static_cast<uint32_t>(history.size()));
  for (const auto& h : history) {
    w.u64(h.epoch);
    w.str(h.node);
    w.u32(h.timeline);
    w.u64(h.lsn);
    w.i64(h.wall_ms);
    w.str(h.reason);
  }
  w.u64(failovers);
  w.u64(switchovers);
  w.str(failover_to);
  w.u64(failover_epoch);
  w.boolean(reset_requested);
  w.u64(renew_index);
  w.u32(sync_acks);
  w.boolean(failover_accept_loss);
  w.u32(ready_timeline);
  w.u32(max_timeline);
  w.str(removing);
  w.str(removal_note);
  w.u32(static_cast<uint32_t>(restarts.size()));
  for (const auto& r : restarts) {
    w.str(r.member);
    w.i64(r.at_ms);
    w.boolean(r.pending_only);
  }
  w.boolean(scheduled_switchover.has_value());
  if (scheduled_switchover) {
    w.str(scheduled_switchover->from);
    w.str(scheduled_switchover->to);
    w.i64(scheduled_switchover->at_ms);
  }
  return w.take();
}

std::optional<ClusterState> ClusterState::decode(const std::string& bytes) {
  ByteReader r(bytes);
  uint8_t version = r.u8();
  if (version < 1 || version > kStateVersion) return std::nullopt;
  ClusterState s;
  uint8_t init = r.u8();
  if (init > 2) return std::nullopt;
  s.init = static_cast<InitKind>(init);
  s.init_node = r.str();
  s.system_id = r.u64();
  s.claim_index = r.u64();
  for (uint32_t i = 0, n = r.count(kMaxItems); i < n && r.ok(); ++i) s.failed_claimants.insert(r.str());
  s.primary = r.str();
  s.epoch = r.u64();
  s.ready_epoch = r.u64();
  for (uint32_t i = 0, n = r.count(kMaxItems); i < n && r.ok(); ++i) s.sync.push_back(r.str());
  if (r.boolean()) {
    std::string from = r.str();
    std::string to = r.str();
    s.switchover = std::make_pair(from, to);
  }
  s.paused = r.boolean();
  for (uint32_t i = 0, n = r.count(kMaxItems); i < n && r.ok(); ++i) s.reinit.insert(r.str());
  for (uint32_t i = 0, n = r.count(kMaxHistory); i < n && r.ok(); ++i) {
    HistoryEntry h;
    h.epoch = r.u64();
    h.node = r.str();
    h.timeline = r.u32();
    h.lsn = r.u64();
    h.wall_ms = r.i64();
    h.reason = r.str();
    s.history.push_back(std::move(h));
  }
  s.failovers = r.u64();
  s.switchovers = r.u64();
  if (version >= 2) {
    s.failover_to = r.str();
    s.failover_epoch = r.u64();
    s.reset_requested = r.boolean();
    s.renew_index = r.u64();
  }
  if (version >= 3) {
    s.sync_acks = r.u32();
    s.failover_accept_loss = r.boolean();
  }
  if (version >= 4) {
    s.ready_timeline = r.u32();
    s.max_timeline = r.u32();
  }
  if (version >= 5) {
    s.removing = r.str();
    s.removal_note = r.str();
  }
  if (version >= 6) {
    for (uint32_t i = 0, n = r.count(kMaxItems); i < n && r.ok(); ++i) {
      ScheduledRestart x;
      x.member = r.str();
      x.at_ms = r.i64();
      x.pending_only = r.boolean();
      s.restarts.push_back(std::move(x));
    }
    if (r.boolean()) {
      ScheduledSwitchover x;
      x.from = r.str();
      x.to = r.str();
      x.at_ms = r.i64();
      s.scheduled_switchover = std::move(x);
    }
  }
  if (!r.ok() || !r.at_end()) return std::nullopt;
  return s;
}

size_t sync_ack_count(const ClusterState& s) {
  return std::clamp<size_t>(s.sync_acks, 1, std::max<size_t>(1, s.sync.size()));
}

bool in_sync_set(const ClusterState& s, const std::string& member) {
  return std::find(s.sync.begin(), s.sync.end(), member) != s.sync.end();
}

std::string removal_mark_refusal(const ClusterState& s, const std::string& node) {
  if (!s.removing.empty() && s.removing != node) return "the removal of " + s.removing + " is still in progress";
  if (node == s.primary) return node + " holds the primary lock";
  if (s.switchover && s.switchover->second == node) return "a switchover to " + node + " is pending";
  if (!s.failover_to.empty() && s.failover_epoch == s.epoch && s.failover_to == node)
    return "a failover to " + node + " is pending";
  if (s.init == InitKind::claimed && s.init_node == node) return node + " is bootstrapping the cluster";
  return "";
}

size_t sync_needed(const ClusterState& s) { return s.sync.empty() ? 0 : s.sync.size() - sync_ack_count(s) + 1; }

std::vector<std::string> last_holders(const ClusterState& s) {
  std::vector<std::string> out;
  if (s.ready_epoch == 0) return out;
  for (const auto& h : s.history)
    if (h.epoch >= s.ready_epoch && !h.node.empty() &&
        std::find(out.begin(), out.end(), h.node) == out.end())
      out.push_back(h.node);
  return out;
}

ApplyEffect apply_command(ClusterState& s, const Command& c, uint64_t index) {
  ApplyEffect e;
  e.type = c.type;
  const std::string old_primary = s.primary;
  switch (c.type) {
    case CmdType::claim:
      if (s.init != InitKind::absent) return rejected(c.type, "init is not absent");
      if (c.node == s.removing) return rejected(c.type, c.node + " is being removed");
      s.init = InitKind::claimed;
      s.init_node = c.node;
      s.claim_index = index;
      break;
    case CmdType::clear_claim:
      if (s.init != InitKind::claimed || s.init_node != c.node)
        return rejected(c.type, "no such claim");
      s.init = InitKind::absent;
      s.failed_claimants.insert(c.node);
      s.init_node.clear();
      break;
    case CmdType::bootstrap_done:
      if (s.init != InitKind::claimed || s.init_node != c.node)
        return rejected(c.type, "claim is not held by " + c.node);
      s.init = InitKind::done;
      s.system_id = c.system_id;
      s.primary = c.node;
      ++s.epoch;
      s.max_timeline = std::max<uint32_t>(s.max_timeline, 1);  // initdb: timeline 1, no promotion
      add_history(s, c, c.node, "bootstrap: initdb on " + c.node);
      break;
    case CmdType::adopt:
      if (s.init != InitKind::absent) return rejected(c.type, "init is not absent");
      if (c.node == s.removing) return rejected(c.type, c.node + " is being removed");
      s.init = InitKind::done;
      s.init_node = c.node;
      s.system_id = c.system_id;
      s.primary = c.node;
      ++s.epoch;
      reserve_timeline(s, c.timeline);
      add_history(s, c, c.node, "adopt: existing data of " + c.node);
      break;
    case CmdType::set_primary:
      if (s.init != InitKind::done) return rejected(c.type, "cluster not initialized");
      if (s.epoch != c.epoch) return rejected(c.type, "stale epoch");
      // The decider saw the holder's lease expire on entries up to c.seq; a
      // renewal committed after that (between its decision and this entry)
      // means the holder may still hold the lease (I1).
      if (c.seq != 0 && s.renew_index > c.seq) return rejected(c.type, "the holder renewed since the decision");
      // The decider may have decided before it applied the mark.
      if (c.node == s.removing) return rejected(c.type, c.node + " is being removed");
      s.primary = c.node;
      ++s.epoch;
      reserve_timeline(s, c.timeline);
      if (c.reason.rfind("failover", 0) == 0) ++s.failovers;
      if (s.switchover) {
        if (s.switchover->second == c.node || s.switchover->second.empty()) ++s.switchovers;
        s.switchover.reset();
      }
      add_history(s, c, c.node, c.reason);
      break;
    case CmdType::renew:
      if (s.epoch != c.epoch || s.primary != c.node) return rejected(c.type, "not the holder");
      s.renew_index = index;
      break;
    case CmdType::ready:
      if (s.epoch != c.epoch || s.primary != c.node) return rejected(c.type, "not the holder");
      s.ready_epoch = c.epoch;
      // 0: a holder that does not report it (an older version): the
      // previous record stays, a lower bound.
      if (c.timeline != 0) {
        s.ready_timeline = c.timeline;
        s.max_timeline = std::max(s.max_timeline, c.timeline);
      }
      break;
    case CmdType::release: {
      if (s.epoch != c.epoch || s.primary != c.node) return rejected(c.type, "not the holder");
      // A switchover to "the best standby" may have picked the member being
      // removed before the mark reached the holder: the lock is released
      // without a successor (the decider then picks one), never refused —
      // the holder has already given up its lease.
      const bool to_removed = !c.to.empty() && c.to == s.removing;
      const std::string to = to_removed ? std::string() : c.to;
      s.primary = to;
      ++s.epoch;
      if (to_removed) s.switchover.reset();
      if (!to.empty()) {
        reserve_timeline(s, c.timeline);
        ++s.switchovers;
        s.switchover.reset();
      }
      add_history(s, c, to,
                  (c.reason.empty() ? "release by " + c.node : c.reason) +
                      (to_removed ? " (" + c.to + " is being removed: released without a successor)" : ""));
      break;
    }
    case CmdType::switchover:
      if (s.init != InitKind::done || s.primary.empty() || s.primary != c.node)
        return rejected(c.type, "no such primary");
      if (!c.to.empty() && c.to == s.removing) return rejected(c.type, c.to + " is being removed");
      s.switchover = std::make_pair(c.node, c.to);
      s.scheduled_switchover.reset();  // started (when due) or superseded by the operator's
      break;
    case CmdType::clear_switchover:
      s.switchover.reset();
      break;
    case CmdType::pause:
      s.paused = c.flag;
      break;
    case CmdType::reinit:
      s.reinit.insert(c.node);
      break;
    case CmdType::reinit_done:
      s.reinit.erase(c.node);
      break;
    case CmdType::reset_cluster:
      if (c.seq != 0 && s.renew_index > c.seq) return rejected(c.type, "the holder renewed since the decision");
      s.init = InitKind::absent;
      s.init_node.clear();
      s.system_id = 0;
      s.claim_index = 0;
      s.failed_claimants.clear();
      s.primary.clear();
      ++s.epoch;
      s.sync.clear();
      s.sync_acks = 0;
      s.switchover.reset();
      s.reinit.clear();
      s.ready_timeline = 0;  // a new cluster (new system id) starts again at timeline 1
      s.max_timeline = 0;
      add_history(s, c, "", c.reason.empty() ? "reset-cluster" : c.reason);
      break;
    case CmdType::set_sync:
      if (s.epoch != c.epoch) return rejected(c.type, "stale epoch");
      // A member being removed never joins the committed set (a primary
      // that chose it before applying the mark); it may stay until the
      // primary narrows it out.
      if (!s.removing.empty() && !in_sync_set(s, s.removing) &&
          std::find(c.members.begin(), c.members.end(), s.removing) != c.members.end())
        return rejected(c.type, s.removing + " is being removed");
      s.sync = c.members;
      s.sync_acks = static_cast<uint32_t>(std::min<uint64_t>(c.seq, kMaxItems));
      break;
    case CmdType::barrier:
      break;
    case CmdType::request_failover:
      if (s.init != InitKind::done) return rejected(c.type, "cluster not initialized");
      if (s.epoch != c.epoch) return rejected(c.type, "stale epoch");
      if (c.node == s.primary) return rejected(c.type, c.node + " is already the primary");
      if (c.node == s.removing) return rejected(c.type, c.node + " is being removed");
      s.failover_to = c.node;
      s.failover_epoch = c.epoch;
      s.failover_accept_loss = c.flag;
      break;
    case CmdType::request_reset:
      s.reset_requested = true;
      break;
    case CmdType::mark_removal:
      if (s.removing == c.node) break;  // a repeat: already marked
      if (std::string why = removal_mark_refusal(s, c.node); !why.empty()) return rejected(c.type, why);
      s.removing = c.node;
      break;
    case CmdType::end_removal:
      if (s.removing != c.node) return rejected(c.type, "no removal of " + c.node + " is pending");
      s.removing.clear();
      s.removal_note = c.reason;
      break;
    case CmdType::schedule_restart: {
      // One plan at a time: a second would interleave with the first's order.
      if (!s.restarts.empty()) return rejected(c.type, "a restart is already scheduled");
      if (c.members.empty()) return rejected(c.type, "no member to restart");
      for (const auto& m : c.members)
        s.restarts.push_back({m, static_cast<int64_t>(c.seq), c.flag});
      break;
    }
    case CmdType::restart_done: {
      auto it = std::find_if(s.restarts.begin(), s.restarts.end(),
                             [&](const ScheduledRestart& r) { return r.member == c.node; });
      if (it == s.restarts.end()) return rejected(c.type, "no restart of " + c.node + " scheduled");
      s.restarts.erase(it);
      break;
    }
    case CmdType::schedule_switchover:
      if (s.init != InitKind::done || s.primary.empty() || s.primary != c.node)
        return rejected(c.type, "no such primary");
      if (s.scheduled_switchover) return rejected(c.type, "a switchover is already scheduled");
      s.scheduled_switchover = ScheduledSwitchover{c.node, c.to, static_cast<int64_t>(c.seq)};
      break;
    case CmdType::flush:
      if (c.reason == "switchover") {
        if (!s.scheduled_switchover) return rejected(c.type, "no switchover scheduled");
        s.scheduled_switchover.reset();
      } else if (c.reason == "restart") {
        size_t before = s.restarts.size();
        std::erase_if(s.restarts, [&](const ScheduledRestart& r) { return c.node.empty() || r.member == c.node; });
        if (s.restarts.size() == before) return rejected(c.type, "no restart scheduled");
      } else {
        return rejected(c.type, "unknown flush target '" + c.reason + "'");
      }
      break;
    case CmdType::reload:
      break;
  }
  e.applied = true;
  if (s.failover_epoch != 0 && s.failover_epoch != s.epoch) {
    s.failover_to.clear();  // the holder changed: the request is done or moot
    s.failover_epoch = 0;
    s.failover_accept_loss = false;
  }
  if (c.type == CmdType::reset_cluster) s.reset_requested = false;
  e.primary_changed = s.primary != old_primary || c.type == CmdType::set_primary ||
                      c.type == CmdType::release || c.type == CmdType::bootstrap_done ||
                      c.type == CmdType::adopt || c.type == CmdType::reset_cluster;
  return e;
}

void ClusterStateMachine::apply(uint64_t index, const std::string& data) {
  last_index_ = index;
  auto cmd = Command::decode(data);
  if (!cmd) return;  // foreign or newer-version entry: skipped identically on every node
  ApplyEffect e = apply_command(state_, *cmd, index);
  if (obs_) obs_(obs_ctx_, index, *cmd, e);
}

bool ClusterStateMachine::restore(const std::string& data) {
  auto s = ClusterState::decode(data);
  if (!s) return false;
  state_ = std::move(*s);
  if (robs_) robs_(robs_ctx_);
  return true;
}

}  // namespace pw::node
