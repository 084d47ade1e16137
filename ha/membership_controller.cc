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

int64_t MembershipController::removal_wait_ms() const {
  // Narrowing needs a probe or two and the remaining standbys' catch-up
  // (sync_controller.h): a few leases is ample on a healthy cluster.
  return std::max<int64_t>(3 * ctx_.cfg.ha_lease_ms, 6 * ctx_.cfg.raft_election_timeout_ms);
}

std::string MembershipController::refusal(const std::string& name) const {
  const ClusterState& s = ctx_.state();
  if (s.primary == name)
    return name + " holds the primary lock: switch over first (pgwarden ctl switchover --to OTHER), then remove it";
  // With no ready primary, a member may hold the only copy of the data
  // (the others empty or re-cloning): removed, no one could ever be
  // promoted again (found by sim_ha, seed 991424).
  const bool primary_ready = !s.primary.empty() && s.ready_epoch == s.epoch;
  const int64_t now = ctx_.now();
  const auto seen = ctx_.members.seen(now);
  auto it = seen.find(name);
  bool has_data = it != seen.end() && it->second.status.data == DataKind::cluster;
  bool other_has_data = false;
  for (const auto& [m, st] : seen)
    if (m != name && st.fresh && st.status.data == DataKind::cluster && st.status.system_id == s.system_id)
      other_has_data = true;
  if (s.init == InitKind::done && !primary_ready && has_data && !other_has_data)
    return name + " may hold the only copy of the cluster's data: there is no primary now and no "
                  "other member reports data. Get a primary first (pgwarden ctl list), then remove it";
  // The same for the newest timeline: the decider promotes only a member
  // that reached the timeline the last ready primary wrote on (its writes
  // may have been acknowledged). Removed, the member that reached it could
  // never be promoted, and failover would wait for good (found by sim_ha,
  // seed 629783845126:5: the primary died right after a switchover and was
  // removed).
  bool other_on_newest = false;
  for (const auto& [m, st] : seen)
    if (m != name && st.fresh && st.status.data == DataKind::cluster && st.status.system_id == s.system_id &&
        st.status.timeline >= s.ready_timeline)
      other_on_newest = true;
  if (s.init == InitKind::done && !primary_ready && s.ready_timeline != 0 && !other_on_newest)
    return "there is no primary now and no other member reports timeline " + std::to_string(s.ready_timeline) +
           ", the one the last primary wrote on: " + name + " may hold its only copy. Get a primary first (pgwarden "
           "ctl list; if " + name + " is gone for good: pgwarden ctl failover --to OTHER --accept-data-loss --confirm " +
           ctx_.cfg.cluster_name + "), then remove it";
  // Synchronous mode without a ready primary: a member of the committed
  // set, or the last primary when the set is empty, may hold acknowledged
  // commits no other member has, and failover waits for it (or promotes
  // it); removed, it would never be heard again and failover could never
  // happen (found by sim_ha once removals ran in synchronous mode, seed
  // 408582472441:5). With no primary nobody can narrow it out either.
  if (ctx_.cfg.ha_synchronous_mode && s.init == InitKind::done && !primary_ready) {
    const auto holders = last_holders(s);
    if (in_sync_set(s, name) ||
        (s.sync.empty() && std::find(holders.begin(), holders.end(), name) != holders.end()))
      return name + (in_sync_set(s, name) ? " is in the committed synchronous standby set"
                                          : " was the last primary and the committed synchronous set is empty") +
             ", and there is no ready primary: it may hold acknowledged commits no other member has, and failover "
             "needs it. Get a primary first (pgwarden ctl list); only if its data is gone for good: pgwarden ctl "
             "failover --to OTHER --accept-data-loss --confirm <cluster-name>, then remove it";
  }
  // The voters left must still make a quorum among those this node hears
  // (raft frames within two election timeouts), or the change itself could
  // never commit and the cluster would stop.
  const consensus::Membership m = ctx_.raft->membership();
  const consensus::MemberInfo* x = m.find_name(name);
  if (x && x->voter) {
    size_t left = 0, heard = 0;
    std::string silent;
    for (const auto& v : m.members) {
      if (!v.voter || v.id == x->id) continue;
      ++left;
      int64_t h = v.id == ctx_.raft->self_id() ? now : ctx_.raft->last_heard_ms(v.id);
      if (h != 0 && now - h <= 2 * ctx_.cfg.raft_election_timeout_ms) ++heard;
      else silent += (silent.empty() ? "" : ", ") + v.name;
    }
    if (heard < left / 2 + 1)
      return "without " + name + " the " + std::to_string(left) + " voters left need " + std::to_string(left / 2 + 1) +
             " of them reachable to make a quorum, and " + silent + " cannot be reached now: bring them back first";
  }
  return "";
}

void MembershipController::remove(const std::string& name, OpDone done) {
  if (!ctx_.raft) return done({503, "raft is not running yet"});
  consensus::Membership m = ctx_.raft->membership();
  if (!m.find_name(name)) return done({404, "'" + name + "' is not a member (pgwarden ctl member list)"});
  if (waiter_) return done({409, "a removal of " + waiter_->name + " is in progress"});
  const ClusterState& s = ctx_.state();
  if (!s.removing.empty() && s.removing != name)
    return done({409, "a removal of " + s.removing + " is in progress (pgwarden ctl list)"});
  if (ctx_.raft->membership_in_force().epoch != m.epoch)
    return done({409, "a membership change is still in progress: retry once it has committed"});
  // Phase 1: this node's view, so that a hopeless request fails at once. The
  // raft leader checks again once the mark is applied (phase 2). A member of
  // the committed synchronous set is not refused: once marked, the primary
  // narrows it out, and phase 2 waits for that.
  if (std::string why = refusal(name); !why.empty()) return done({409, why});
  if (std::string why = removal_mark_refusal(s, name); !why.empty()) return done({409, why});
  waiter_ = Waiter{name, std::move(done), ctx_.now() + removal_wait_ms() + 12 * ctx_.cfg.raft_election_timeout_ms};
  Command c;
  c.type = CmdType::mark_removal;
  c.node = name;
  c.reason = "member remove " + name;
  PW_INFO("agent", "member remove %s: proposing the removal mark (phase 1)", name.c_str());
  ctx_.propose(c, [this, name](ProposalOutcome o) {
    if (!waiter_ || waiter_->name != name) return;
    if (o == ProposalOutcome::committed) {
      if (ctx_.state().removing == name) {
        waiter_->marked = true;
        return;  // answered by answer_waiter() once the leader ended it
      }
      if (!ctx_.raft->membership().find_name(name)) return;  // already gone: answer_waiter() says so
      OpDone d = std::move(waiter_->done);
      waiter_.reset();
      std::string why = removal_mark_refusal(ctx_.state(), name);
      return d({409, "not removed: " + (why.empty() ? std::string("the mark was refused when applied") : why)});
    }
    OpDone d = std::move(waiter_->done);
    waiter_.reset();
    if (o == ProposalOutcome::unknown)
      return d({504, "the removal of " + name + " was proposed but its outcome is unknown (this node lost contact "
                     "with the raft leader): check pgwarden ctl member list and ctl list"});
    d({503, "not done: the removal mark was not committed (no raft leader reachable?); retry"});
  });
}

void MembershipController::answer_waiter() {
  if (!waiter_ || !ctx_.raft) return;
  const std::string name = waiter_->name;
  const ClusterState& s = ctx_.state();
  std::optional<OpResult> out;
  if (!ctx_.raft->membership().find_name(name))
    out = OpResult{200, "removed " + name + " (its id is never reused; stop pgwarden on it and move its state "
                                             "directory aside before it joins again)"};
  else if (waiter_->marked && s.removing != name)
    out = OpResult{409, s.removal_note.empty() ? "the removal of " + name + " was withdrawn" : s.removal_note};
  else if (ctx_.now() >= waiter_->deadline)
    out = OpResult{504, "the removal of " + name + " is still pending: the raft leader completes or withdraws it "
                        "(pgwarden ctl list shows it while it is pending; ctl member list once it is done)"};
  if (!out) return;
  OpDone d = std::move(waiter_->done);
  waiter_.reset();
  d(*out);
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

void MembershipController::end_removal(const std::string& name, bool removed, const std::string& note) {
  if (removed) PW_INFO("agent", "member remove %s: %s", name.c_str(), note.c_str());
  else PW_WARN("agent", "member remove %s withdrawn: %s", name.c_str(), note.c_str());
  ending_ = true;
  Command c;
  c.type = CmdType::end_removal;
  c.node = name;
  c.flag = removed;
  c.reason = note;
  // Not committed: the next turn (or the next leader) proposes it again.
  ctx_.propose(c, [this](ProposalOutcome) { ending_ = false; });
}

void MembershipController::drive_removal() {
  const ClusterState& s = ctx_.state();
  if (s.removing.empty() || !decider_.caught_up()) {
    drive_.reset();
    return;
  }
  const std::string name = s.removing;
  const uint64_t term = ctx_.raft->term();
  const int64_t now = ctx_.now();
  if (!drive_ || drive_->name != name || drive_->term != term) {
    drive_ = Drive{name, term, now, false};
    PW_INFO("agent", "member remove %s: re-checking on the applied state (phase 2) term=%llu", name.c_str(),
            static_cast<unsigned long long>(term));
  }
  if (ending_ || changing_) return;
  consensus::Membership m = ctx_.raft->membership();
  if (ctx_.raft->membership_in_force().epoch != m.epoch) return;  // a change is committing: its outcome first
  const consensus::MemberInfo* x = m.find_name(name);
  if (!x) return end_removal(name, true, "removed " + name);  // the change committed before a leader change
  const std::string withdrawn = "the removal of " + name + " was withdrawn: ";
  if (std::string why = refusal(name); !why.empty()) return end_removal(name, false, withdrawn + why);
  if (in_sync_set(s, name)) {
    // Marked, it is no longer chosen: the primary narrows it out once the
    // remaining synchronous standbys have caught up (sync_controller.h).
    if (now - drive_->since < removal_wait_ms()) {
      if (!drive_->waiting_logged)
        PW_INFO("agent", "member remove %s: waiting for the primary to narrow it out of the synchronous set",
                name.c_str());
      drive_->waiting_logged = true;
      return;
    }
    return end_removal(name, false,
                       withdrawn + name + " is still in the committed synchronous standby set after " +
                           std::to_string(removal_wait_ms() / 1000) +
                           " s (a failover may need to hear it): another standby must stream and catch up to take "
                           "its place (with synchronous_mode_strict and no other standby, stop pgwarden on " +
                           name + " first), then retry");
  }
  // The raft leader being removed hands leadership to another voter first,
  // so the cluster is never without a leader while the change commits; the
  // new leader takes the removal up from the mark. Only if no handover
  // happens in time does it propose the change itself (then steps down).
  if (x->id == ctx_.raft->self_id() && now - drive_->since < 3 * ctx_.cfg.raft_election_timeout_ms) {
    if (uint64_t to = handover_target(m, x->id)) ctx_.raft->transfer_leadership(to);
    return;
  }
  m.members.erase(std::remove_if(m.members.begin(), m.members.end(),
                                 [&](const consensus::MemberInfo& y) { return y.name == name; }),
                  m.members.end());
  propose(std::move(m), "removed " + name, [this, name](const OpResult& r) {
    // Committed: the next turn ends the removal (the mark is cleared). Not
    // committed: the next turn re-checks and tries again.
    if (r.http_status != 200)
      PW_INFO("agent", "member remove %s: configuration change not committed: %s (retried)", name.c_str(),
              r.message.c_str());
  });
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
  if (ctx_.raft) drive_removal();
  answer_waiter();
  promote_learners();
}

}  // namespace pw::node
