// ha/membership_controller.cc — see membership_controller.h.
#include "ha/membership_controller.h"

#include <algorithm>
#include <cctype>

#include "base/log.h"

namespace pw::node {
namespace {

bool valid_name(const std::string& n) {
  return !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

void MembershipController::propose(consensus::Membership to, const std::string& what, OpDone done) {
  if (!ctx_.raft) return done({503, "raft is not running yet"});
  changing_ = true;
  ctx_.raft->propose_membership(to, [this, what, done](const consensus::ProposalResult& r) {
    changing_ = false;
    ctx_.kick();
    if (r.committed) {
      PW_INFO("agent", "membership change committed at index %llu: %s",
              (unsigned long long)r.index, what.c_str());
      return done({200, what});
    }
    done({r.maybe_committed ? 504 : 409,
          "not done: " + r.error + (r.maybe_committed ? " (it may still take effect: check `pgwarden ctl member list`)" : "")});
  });
}

void MembershipController::add(const std::string& name, const std::string& host, uint16_t port,
                               bool stay_learner, OpDone done) {
  if (!valid_name(name))
    return done({400, "member name '" + name + "' must be 1-64 letters, digits, '-', '_' or '.'"});
  if (host.empty()) return done({400, "member add needs a host: NAME=HOST[:PORT]"});
  if (!ctx_.raft) return done({503, "raft is not running yet"});
  consensus::Membership m = ctx_.raft->membership();
  if (ctx_.raft->membership_in_force().epoch != m.epoch)
    return done({409, "a membership change is still in progress: retry once it has committed"});
  if (m.find_name(name))
    return done({409, "'" + name + "' is already a member (pgwarden ctl member list)"});
  consensus::MemberInfo x;
  x.id = m.next_id;
  x.name = name;
  x.host = host;
  x.port = port ? port : ctx_.cfg.raft_port;
  x.voter = false;
  x.stay_learner = stay_learner;
  m.members.push_back(x);
  std::sort(m.members.begin(), m.members.end(),
            [](const consensus::MemberInfo& a, const consensus::MemberInfo& b) { return a.id < b.id; });
  m.next_id = x.id + 1;
  std::string what = "added " + name + " (" + host + ":" + std::to_string(x.port) + ") as a learner with id " +
                     std::to_string(x.id) +
                     (stay_learner ? " (it stays a learner)"
                                   : "; it becomes a voter once its PostgreSQL streams") +
                     ". Start pgwarden on " + host + " with its own [node] name = " + name +
                     " and [cluster] members listing at least one current member";
  propose(std::move(m), what, std::move(done));
}

void MembershipController::remove(const std::string& name, OpDone done) {
  if (!ctx_.raft) return done({503, "raft is not running yet"});
  consensus::Membership m = ctx_.raft->membership();
  const consensus::MemberInfo* x = m.find_name(name);
  if (!x) return done({404, "'" + name + "' is not a member (pgwarden ctl member list)"});
  if (ctx_.state().primary == name)
    return done({409, name + " holds the primary lock: switch over first (pgwarden ctl switchover --to OTHER), then remove it"});
  {
    // With no ready primary, a member may hold the only copy of the data
    // (the others empty or re-cloning): removed, no one could ever be
    // promoted again (found by sim_ha, seed 991424).
    const ClusterState& s = ctx_.state();
    const bool primary_ready = !s.primary.empty() && s.ready_epoch == s.epoch;
    const auto seen = ctx_.members.seen(ctx_.now());
    auto it = seen.find(name);
    bool has_data = it != seen.end() && it->second.status.data == DataKind::cluster;
    bool other_has_data = false;
    for (const auto& [m, st] : seen)
      if (m != name && st.fresh && st.status.data == DataKind::cluster && st.status.system_id == s.system_id)
        other_has_data = true;
    if (s.init == InitKind::done && !primary_ready && has_data && !other_has_data)
      return done({409, name + " may hold the only copy of the cluster's data: there is no primary now and no "
                              "other member reports data. Get a primary first (pgwarden ctl list), then remove it"});
    // The same for the newest timeline: the decider promotes only a member
    // that reached the timeline the last ready primary wrote on (its writes
    // may have been acknowledged). Removed, the member that reached it
    // could never be promoted, and failover would wait for good (found by
    // sim_ha, seed 629783845126:5: the primary died right after a
    // switchover and was removed).
    bool other_on_newest = false;
    for (const auto& [m, st] : seen)
      if (m != name && st.fresh && st.status.data == DataKind::cluster && st.status.system_id == s.system_id &&
          st.status.timeline >= s.ready_timeline)
        other_on_newest = true;
    if (s.init == InitKind::done && !primary_ready && s.ready_timeline != 0 && !other_on_newest)
      return done({409, "there is no primary now and no other member reports timeline " +
                            std::to_string(s.ready_timeline) + ", the one the last primary wrote on: " + name +
                            " may hold its only copy. Get a primary first (pgwarden ctl list; if " + name +
                            " is gone for good: pgwarden ctl failover --to OTHER --accept-data-loss --confirm " +
                            ctx_.cfg.cluster_name + "), then remove it"});
  }
  if (in_sync_set(ctx_.state(), name))
    // Synchronous mode (I4): a member of the committed set may hold the only
    // copy of acknowledged commits, and failover waits to hear from every
    // member of the set; a removed member is never heard again.
    return done({409, name + " is in the synchronous standby set: stop pgwarden on " + name +
                          " first (the primary then drops it from the set), then remove it"});
  if (ctx_.raft->membership_in_force().epoch != m.epoch)
    return done({409, "a membership change is still in progress: retry once it has committed"});
  if (removal_) return done({409, "a removal of " + removal_->name + " is in progress"});
  removal_ = PendingRemoval{name, std::move(done), ctx_.now() + 3 * ctx_.cfg.raft_election_timeout_ms};
  continue_removal();
}

uint64_t MembershipController::handover_target(const consensus::Membership& m, uint64_t leaving) const {
  // The lock holder first: as leader its renewals need no forwarding. Then
  // any voter heard from recently (a dead target would only time out).
  uint64_t fresh = 0;
  const std::string& holder = ctx_.state().primary;
  int64_t now = ctx_.now();
  for (const auto& v : m.members) {
    if (!v.voter || v.id == leaving) continue;
    bool heard = v.id == ctx_.raft->self_id() || ctx_.members.fresh(v.name, now) != nullptr;
    if (!heard) continue;
    if (v.name == holder) return v.id;
    if (!fresh) fresh = v.id;
  }
  return fresh;
}

void MembershipController::continue_removal() {
  if (!removal_ || changing_ || !ctx_.raft) return;
  consensus::Membership m = ctx_.raft->membership();
  const consensus::MemberInfo* x = m.find_name(removal_->name);
  if (!x) {
    OpDone d = std::move(removal_->done);
    removal_.reset();
    return d({200, "already removed"});
  }
  // The raft leader being removed hands leadership to another voter first,
  // so the cluster is never without a leader while the change commits. The
  // request may arrive on any member: a follower asks the leader (raft
  // forwards it; repeats while in progress are ignored there). Before, a
  // follower only waited for the deadline and then proposed the removal
  // to the leader being removed (CI: the primary fenced meanwhile).
  if (ctx_.raft->leader_id() == x->id && ctx_.now() < removal_->deadline) {
    if (uint64_t to = handover_target(m, x->id)) ctx_.raft->transfer_leadership(to);
    return;  // next turn: the new leader (or this node, via forwarding) proposes
  }
  std::string name = removal_->name;
  OpDone done = std::move(removal_->done);
  removal_.reset();
  m.members.erase(std::remove_if(m.members.begin(), m.members.end(),
                                 [&](const consensus::MemberInfo& y) { return y.name == name; }),
                  m.members.end());
  propose(std::move(m),
          "removed " + name + " (its id is never reused; stop pgwarden on it and move its state directory aside before it joins again)",
          std::move(done));
}

void MembershipController::promote_learners() {
  if (!ctx_.raft || !ctx_.raft->is_leader() || changing_) return;
  consensus::Membership m = ctx_.raft->membership();
  if (ctx_.raft->membership_in_force().epoch != m.epoch) return;
  for (auto& x : m.members) {
    if (x.voter || x.stay_learner) continue;
    const MemberStatus* st = ctx_.members.fresh(x.name, ctx_.now());
    // Caught up: its PostgreSQL streams from the primary (its raft log is
    // current too, or it would not have the primary to clone from).
    if (!st || !st->pg_running || !st->streaming) continue;
    x.voter = true;
    std::string name = x.name;
    propose(std::move(m), "promoted " + name + " to voter", [name](const OpResult& r) {
      if (r.http_status != 200) PW_INFO("agent", "promoting %s: %s (retried)", name.c_str(), r.message.c_str());
    });
    return;  // one change at a time
  }
}

void MembershipController::sync_hba() {
  if (hba_busy_ || hba_epoch_ == ctx_.roster_epoch() || ctx_.activity.busy()) return;
  std::vector<std::string> addrs;
  bool loopback = false;
  for (const auto& m : ctx_.roster()) {
    addrs.push_back(m.host);
    loopback = loopback || m.host.rfind("127.", 0) == 0;
  }
  // On one machine connections between members leave from 127.0.0.1.
  if (loopback) addrs.push_back("127.0.0.1");
  uint64_t epoch = ctx_.roster_epoch();
  if (hba_epoch_ == UINT64_MAX && epoch == 0) {  // pgctl was created with the file's list
    hba_epoch_ = epoch;
    return;
  }
  hba_busy_ = true;
  ctx_.pg().set_member_addresses(addrs, [this, epoch](const pgctl::Result& r) {
    hba_busy_ = false;
    if (r.ok) {
      hba_epoch_ = epoch;
      PW_INFO("agent", "pg_hba follows membership epoch %llu", (unsigned long long)epoch);
    } else {
      PW_WARN("agent", "pg_hba update for membership epoch %llu failed: %s (retried)",
              (unsigned long long)epoch, r.error.c_str());
    }
  });
}

void MembershipController::run() {
  sync_hba();
  continue_removal();
  promote_learners();
}

}  // namespace pw::node
