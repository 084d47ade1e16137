// ha/decider.cc — see decider.h. Every branch that cannot act says why in
// a diagnostic, so an operator never meets the seed's silent
// "waiting for leader to bootstrap".
#include "ha/decider.h"

#include <algorithm>

namespace pw::node {

namespace {

size_t quorum(const DeciderInput& in) { return in.members.size() / 2 + 1; }

std::vector<const MemberStatus*> fresh(const DeciderInput& in) {
  std::vector<const MemberStatus*> out;
  for (const auto& m : in.members) {
    auto it = in.seen.find(m);
    if (it != in.seen.end() && it->second.fresh) out.push_back(&it->second.status);
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

Command make(const DeciderInput& in, CmdType t, const std::string& node, std::string reason) {
  Command c;
  c.type = t;
  c.node = node;
  c.epoch = in.state->epoch;
  c.wall_ms = in.wall_ms;
  c.reason = std::move(reason);
  // Decisions that replace a holder are refused at apply if it renewed after
  // the entries this decision saw (cluster_state.cc).
  if (t == CmdType::set_primary || t == CmdType::reset_cluster) c.seq = in.applied_index;
  return c;
}

Decision decide_uninitialized(const DeciderInput& in) {
  Decision d;
  if (!in.state->removing.empty()) {
    // Neither claimed nor adopted by a member being removed (refused at
    // apply too); the raft leader ends the removal first.
    d.diagnostics.push_back({"removal_pending",
                             "bootstrap waits for the removal of " + in.state->removing + " to finish",
                             "wait; the raft leader completes or withdraws it within seconds (pgwarden ctl list)"});
    return d;
  }
  const auto f = fresh(in);
  if (f.size() < quorum(in)) {
    std::vector<std::string> missing;
    for (const auto& m : in.members)
      if (!in.seen.count(m) || !in.seen.at(m).fresh) missing.push_back(m);
    d.diagnostics.push_back({"waiting_for_members",
                             "bootstrap waits for a quorum of members to report their data directory; "
                             "silent: " + join(missing),
                             "start pgwarden on the silent members, or check the raft port between them"});
    return d;
  }
  // Adopt: the member with the highest (timeline, lsn) keeps its data and
  // becomes primary — never a member tagged nofailover (README: the tag is
  // absolute). When the most advanced data is on such a member only,
  // adopting another's would throw away what only it has: nothing is
  // adopted, and the diagnostic names both ways out.
  auto better = [](const MemberStatus* s, const MemberStatus* best) {
    return !best || std::tie(s->timeline, s->lsn) > std::tie(best->timeline, best->lsn) ||
           (std::tie(s->timeline, s->lsn) == std::tie(best->timeline, best->lsn) && s->name < best->name);
  };
  const MemberStatus* best = nullptr;     // the best member that may become primary
  const MemberStatus* best_any = nullptr;  // the best, tags aside
  for (const auto* s : f) {
    if (s->data != DataKind::cluster) continue;
    if (better(s, best_any)) best_any = s;
    if (!s->nofailover && better(s, best)) best = s;
  }
  if (best_any && !best) {
    std::vector<std::string> tagged;
    for (const auto* s : f)
      if (s->data == DataKind::cluster) tagged.push_back(s->name);
    d.diagnostics.push_back({"adopt_no_eligible",
                             "existing data is only on members tagged nofailover (" + join(tagged) +
                                 "), which are never made primary; nothing is adopted",
                             "remove the nofailover tag from " + best_any->name +
                                 " to adopt its data, or restore the data on a member without the tag"});
    return d;
  }
  if (best_any && best_any != best &&
      std::tie(best_any->timeline, best_any->lsn) > std::tie(best->timeline, best->lsn)) {
    d.diagnostics.push_back(
        {"adopt_blocked_nofailover",
         "the most advanced existing data (timeline " + std::to_string(best_any->timeline) + ", LSN " +
             std::to_string(best_any->lsn) + ") is on " + best_any->name +
             ", which is tagged nofailover and never made primary; adopting " + best->name +
             "'s data (timeline " + std::to_string(best->timeline) + ", LSN " + std::to_string(best->lsn) +
             ") would lose what only " + best_any->name + " has",
         "remove the nofailover tag from " + best_any->name + " to adopt its data, or move its data directory "
         "aside to adopt " + best->name + "'s"});
    return d;
  }
  if (best) {
    Command c = make(in, CmdType::adopt, best->name,
                     "adopt: existing data of " + best->name + " (highest timeline and LSN)");
    c.system_id = best->system_id;
    c.timeline = best->timeline;
    c.lsn = best->lsn;
    d.propose = c;
    return d;
  }
  std::vector<const MemberStatus*> empties;
  for (const auto* s : f)
    if (s->data == DataKind::empty) empties.push_back(s);
  if (empties.size() < quorum(in)) {
    std::vector<std::string> bad;
    for (const auto* s : f)
      if (s->data == DataKind::unusable) bad.push_back(s->name + " (" + s->data_reason + ")");
    d.diagnostics.push_back({"bootstrap_blocked",
                             "no member has data and fewer than a quorum report an empty data directory; "
                             "unusable: " + join(bad),
                             "fix or empty the data directories named above (pgwarden never deletes them)"});
    return d;
  }
  // Claim: prefer ourselves (no extra hop), then by name; skip failed claimants.
  std::vector<std::string> eligible;
  for (const auto* s : empties)
    if (!s->nofailover && !in.state->failed_claimants.count(s->name)) eligible.push_back(s->name);
  if (eligible.empty()) {
    for (const auto* s : empties)
      if (!s->nofailover) eligible.push_back(s->name);  // everyone failed once: try again
  }
  if (eligible.empty()) {
    d.diagnostics.push_back({"bootstrap_no_eligible", "every empty member is tagged nofailover",
                             "remove the nofailover tag from one member"});
    return d;
  }
  std::sort(eligible.begin(), eligible.end());
  std::string who = std::find(eligible.begin(), eligible.end(), in.self) != eligible.end() ? in.self : eligible[0];
  d.propose = make(in, CmdType::claim, who, "bootstrap claim");
  return d;
}

Decision decide_claimed(const DeciderInput& in) {
  Decision d;
  const ClusterState& s = *in.state;
  if (in.claim_age_ms >= in.bootstrap_timeout_ms) {
    d.propose = make(in, CmdType::clear_claim, s.init_node, "bootstrap claim timed out");
    d.diagnostics.push_back({"bootstrap_claim_expired",
                             s.init_node + " did not finish bootstrap within bootstrap_timeout; "
                             "the claim is cleared and another member will bootstrap",
                             "check the log of " + s.init_node});
    return d;
  }
  auto it = in.seen.find(s.init_node);
  // A claimant that stopped reporting (killed, cut off) is presumed dead once
  // it has been silent for claimant_silence_ms: the claim moves on in seconds
  // instead of bootstrap_timeout. Safe even if it is alive: its every step
  // re-checks the claim, and a late bootstrap_done is refused at apply.
  bool fresh = it != in.seen.end() && it->second.fresh;
  if (!fresh) {
    int64_t since = std::max(in.now_ms - in.claim_age_ms, it == in.seen.end() ? int64_t{0} : it->second.received_ms);
    int64_t silent = in.now_ms - since;
    if (silent >= in.claimant_silence_ms) {
      d.propose = make(in, CmdType::clear_claim, s.init_node, "bootstrap claimant silent");
      d.diagnostics.push_back({"bootstrap_claimant_silent",
                               s.init_node + " claimed the bootstrap and has not reported for " +
                                   std::to_string(silent / 1000) + " s; the claim is cleared and another member "
                                   "will bootstrap",
                               "check the log of " + s.init_node + "; when it comes back it moves its "
                               "half-made data directory aside and clones"});
      return d;
    }
    d.diagnostics.push_back({"bootstrap_claimant_silent",
                             s.init_node + " claimed the bootstrap and has not reported for " +
                                 std::to_string(silent / 1000) + " s; the claim moves to another member if it "
                                 "stays silent for " + std::to_string(in.claimant_silence_ms / 1000) + " s",
                             "check that pgwarden runs on " + s.init_node + " and its raft port is reachable"});
    return d;
  }
  if (it != in.seen.end() && !it->second.status.last_error.empty())
    d.diagnostics.push_back({"bootstrap_failing",
                             s.init_node + " is bootstrapping and reports: " + it->second.status.last_error,
                             "fix the cause; the claim moves to another member after bootstrap_timeout"});
  return d;
}

// The lock has a holder whose lease has not expired, so no failover may
// happen yet — but clients may still have no primary: the epoch is not
// ready (promotion), or the holder's PostgreSQL does not take writes
// (fenced, restarting, crashed), or the holder went silent. Each names
// what the cluster waits for and when a failover becomes possible.
std::optional<Diagnostic> holder_not_serving(const DeciderInput& in) {
  const ClusterState& s = *in.state;
  if (s.init != InitKind::done || s.primary.empty()) return std::nullopt;
  const std::string& p = s.primary;
  auto it = in.seen.find(p);
  const SeenStatus* seen = it == in.seen.end() ? nullptr : &it->second;
  const int64_t left_s = std::max<int64_t>(0, (in.holder_gone_ms - in.now_ms + 999) / 1000);
  const std::string when = "a failover becomes possible if its lease is not renewed within " +
                           std::to_string(left_s) + " s";
  std::string doing = seen && !seen->status.agent_state.empty() ? " (" + seen->status.agent_state + ")" : "";
  if (seen && !seen->status.last_error.empty()) doing += "; its last error: " + seen->status.last_error;
  if (!seen || !seen->fresh)
    return Diagnostic{"primary_silent",
                      p + " holds the lock (epoch " + std::to_string(s.epoch) + ") but has not reported recently; " +
                          when,
                      "check that pgwarden runs on " + p + " and that the network to it works; the other members "
                      "take over once its lease has run out"};
  if (s.ready_epoch != s.epoch)
    return Diagnostic{"promotion_in_progress",
                      p + " holds the lock (epoch " + std::to_string(s.epoch) + ") and is not ready for writes yet" +
                          doing,
                      "wait a few seconds; if it stays, read the log of " + p};
  if (s.switchover)
    return Diagnostic{"switchover_in_progress",
                      "switchover from " + s.switchover->first + " to " +
                          (s.switchover->second.empty() ? std::string("the best standby") : s.switchover->second) +
                          " in progress: new clients wait for the new primary",
                      "wait; it completes or is aborted within seconds (pgwarden ctl list)"};
  const MemberStatus& st = seen->status;
  if (st.serving_known && !st.serving)
    return Diagnostic{"primary_not_serving",
                      p + " holds the lock (epoch " + std::to_string(s.epoch) +
                          ") but its PostgreSQL does not accept writes" + doing + "; while it renews its lease it "
                          "restarts PostgreSQL itself, and " + when,
                      "read the log of " + p + "; to move the primary elsewhere now: pgwarden ctl failover --to "
                      "<member>"};
  return std::nullopt;
}

bool all_members_empty(const DeciderInput& in, bool require_every_member) {
  size_t n = 0;
  for (const auto& m : in.members) {
    auto it = in.seen.find(m);
    if (it == in.seen.end() || !it->second.fresh) continue;
    if (it->second.status.data != DataKind::empty) return false;
    ++n;
  }
  return require_every_member ? n == in.members.size() : n >= quorum(in);
}

}  // namespace

Ranking rank_candidates(const DeciderInput& in, const std::string& exclude, bool failover) {
  Ranking r;
  const ClusterState& s = *in.state;
  uint64_t max_lsn = 0;
  // The recorded timeline of the last ready primary counts like a status:
  // statuses are soft state a restarted daemon forgets, the record is not.
  uint32_t max_tl = s.ready_timeline;
  for (const auto& [name, seen] : in.seen) {
    if (seen.status.system_id != s.system_id || seen.status.data != DataKind::cluster) continue;
    max_lsn = std::max(max_lsn, seen.status.lsn);
    max_tl = std::max(max_tl, seen.status.timeline);
  }
  // I4, synchronous mode: the quorum-commit rule. PostgreSQL waits for ANY k
  // of S and the committed set C ⊇ S names q = sync_acks(C) ≤ k: every
  // acknowledged commit is on the primary and on at least q members of C —
  // which ones is not known (sync_controller.h). Hearing |C| - q + 1 members
  // of C (statuses describing the servers after the holder stopped) covers
  // at least one holder of each such commit, so the most advanced of those
  // heard has them all; a candidate must be at least as advanced. The last
  // primary clients could write to (the last ready holder) acknowledged
  // every commit itself, and each holder after it was chosen holding them,
  // so they are eligible too; with C empty (PostgreSQL may have run
  // asynchronously) they are the only ones, and one of them must be heard.
  std::vector<std::string> sync_set = s.sync;
  std::string sync_unheard;
  uint64_t sync_max_lsn = 0;
  if (in.synchronous_mode && failover) {
    // A status counts if its probe ran after the holder stopped: arrival
    // minus the probe's age as sent (a member whose agent was frozen
    // between probe and gossip reports an old position late, while its
    // PostgreSQL kept acknowledging commits; found by sim_ha), and minus
    // status_lag_ms more for the transit (and for a version-3 sender's
    // unknown age).
    auto heard = [&](const std::string& m) -> const MemberStatus* {
      auto it = in.seen.find(m);
      if (it == in.seen.end() || !it->second.fresh || it->second.status.probe_age_ms < 0 ||
          it->second.received_ms - it->second.status.probe_age_ms < in.holder_gone_ms + in.status_lag_ms)
        return nullptr;
      return &it->second.status;
    };
    // LSNs compare only on the newest timeline: WAL past an older
    // timeline's fork was never acknowledged after the promotion that forked
    // it, and that promotion chose a member holding everything before.
    // (Members of C are standbys of the last primary's timeline: always
    // counted. A former holder on an older timeline is not.)
    auto count = [&](const MemberStatus* st) {
      if (st->timeline >= max_tl) sync_max_lsn = std::max(sync_max_lsn, st->lsn);
    };
    // A member of C counts only with its PostgreSQL running: a stopped
    // server reports its last checkpoint, which can be far behind the WAL it
    // flushed (and acknowledged).
    size_t heard_in_c = 0;
    std::string unheard;
    for (const auto& m : s.sync) {
      const MemberStatus* st = heard(m);
      if (st && st->pg_running) {
        ++heard_in_c;
        sync_max_lsn = std::max(sync_max_lsn, st->lsn);
      } else {
        unheard += (unheard.empty() ? "" : ", ") + m;
      }
    }
    const size_t need = sync_needed(s);
    if (heard_in_c < need) {
      sync_unheard = unheard;
      if (need < s.sync.size())
        sync_unheard += " (" + std::to_string(need) + " of the " + std::to_string(s.sync.size()) +
                        " members of the synchronous set must be heard, " + std::to_string(heard_in_c) + " were)";
    }
    bool holder_heard = false, holder_has_all = false;
    std::string holders;
    for (const auto& last : last_holders(s)) {
      holders += (holders.empty() ? "" : ", ") + last;
      if (std::find(sync_set.begin(), sync_set.end(), last) == sync_set.end()) sync_set.push_back(last);
      if (const MemberStatus* st = heard(last)) {
        holder_heard = true;
        count(st);
        // A last holder whose PostgreSQL runs on the newest timeline reports
        // a position past every acknowledged commit (it wrote them, or was
        // chosen holding them): C need not be heard then (found by sim_ha:
        // the only member of C reinitialised, the old primary back).
        holder_has_all |= st->pg_running && st->timeline >= max_tl;
      }
    }
    if (holder_has_all) sync_unheard.clear();
    if (s.sync.empty() && !holder_heard) sync_unheard = holders.empty() ? "the last primary" : holders;
  }
  std::vector<const MemberStatus*> ok;
  for (const auto& m : in.members) {
    auto it = in.seen.find(m);
    std::string why;
    if (m == exclude) why = "current primary";
    else if (m == s.removing) why = "being removed (pgwarden ctl member remove): never promoted";
    else if (it == in.seen.end() || !it->second.fresh) why = "no recent status (unreachable?)";
    else {
      const MemberStatus& st = it->second.status;
      if (st.data != DataKind::cluster) why = std::string("data directory is ") + data_kind_name(st.data);
      else if (st.system_id != s.system_id) why = "data belongs to another cluster (system id " + std::to_string(st.system_id) + ")";
      else if (!st.pg_running) why = "PostgreSQL not running";
      else if (!st.in_recovery) why = "not a standby";
      else if (st.nofailover) why = "tagged nofailover";
      else if (st.timeline < max_tl) {
        why = "on an old timeline (" + std::to_string(st.timeline) + " < " + std::to_string(max_tl) + ")";
        r.behind.push_back(m);
      }
      else if (max_lsn - std::min(max_lsn, st.lsn) > in.maximum_lag_on_failover)
        why = "lag " + std::to_string(max_lsn - st.lsn) + " bytes exceeds maximum_lag_on_failover";
      else if (in.synchronous_mode && failover && std::find(sync_set.begin(), sync_set.end(), m) == sync_set.end())
        why = s.sync.empty() ? "synchronous mode: the primary ran without a synchronous standby; only "
                               "it has every acknowledged commit"
                             : "synchronous mode: not in the synchronous standby set (an asynchronous standby)";
      else if (!sync_unheard.empty())
        why = "synchronous mode: waiting to hear " + sync_unheard +
              ", which may hold the latest acknowledged commit (no status from it since the primary stopped)";
      else if (in.synchronous_mode && failover && st.lsn < sync_max_lsn)
        why = "synchronous mode: behind another synchronous standby (LSN " + std::to_string(st.lsn) + " < " +
              std::to_string(sync_max_lsn) + ")";
    }
    if (why.empty()) ok.push_back(&it->second.status);
    else r.excluded[m] = why;
  }
  r.sync_unheard = sync_unheard;
  std::sort(ok.begin(), ok.end(), [](const MemberStatus* a, const MemberStatus* b) {
    if (a->lsn != b->lsn) return a->lsn > b->lsn;
    if (a->priority != b->priority) return a->priority > b->priority;
    return a->name < b->name;
  });
  for (const auto* m : ok) r.ranked.push_back(m->name);
  r.timeline = max_tl;
  return r;
}

namespace {

// Operator requests are carried out here, by the decider, after its barrier
// and the same lease wait as an automatic failover (I1): the node that
// received the request may have a lagging view.
// `blocked`: a request that cannot be carried out yet says why here, and the
// automatic path may still act.
std::optional<Decision> decide_requests(const DeciderInput& in, Diagnostics* blocked) {
  const ClusterState& s = *in.state;
  const bool holder_gone = s.primary.empty() || in.lease_expired;
  if (s.reset_requested) {
    Decision d;
    if (!holder_gone) {
      d.diagnostics.push_back({"reset_waiting", "reset-cluster requested: waiting for the lease of " + s.primary +
                                                    " to expire",
                               "stop pgwarden on " + s.primary + " if it should not be primary any more"});
      return d;
    }
    d.propose = make(in, CmdType::reset_cluster, "", "reset-cluster by operator");
    return d;
  }
  if (s.init != InitKind::done || s.failover_to.empty() || s.failover_epoch != s.epoch) return std::nullopt;
  Decision d;
  if (!holder_gone) {
    d.diagnostics.push_back({"failover_waiting", "failover to " + s.failover_to + " requested: waiting for the lease of " +
                                                     s.primary + " to expire",
                             "stop pgwarden or PostgreSQL on " + s.primary + ", or wait"});
    return d;
  }
  DeciderInput lax = in;
  lax.maximum_lag_on_failover = UINT64_MAX;  // the operator accepts the lag
  Ranking r = rank_candidates(lax, s.primary);
  std::string reason = "failover: manual to " + s.failover_to;
  auto excluded = [&](const Ranking& x) -> std::optional<std::string> {
    if (std::find(x.ranked.begin(), x.ranked.end(), s.failover_to) != x.ranked.end()) return std::nullopt;
    auto it = x.excluded.find(s.failover_to);
    return it == x.excluded.end() ? std::string("unknown member") : it->second;
  };
  if (s.failover_accept_loss) {
    // `--accept-data-loss`: the synchronous-mode rules are waived (the only
    // member holding the latest acknowledged commits is gone for good); the
    // others — a standby of this cluster, running, on the newest timeline —
    // are not. The history says what was accepted.
    std::optional<std::string> why_not = excluded(r);
    lax.synchronous_mode = false;
    r = rank_candidates(lax, s.primary);
    // ... and so is the timeline rule: a target excluded only for being on
    // an older timeline than the newest known (whoever wrote on that one is
    // gone) is promoted onto an id above every recorded one (set_primary
    // reserves it), so the two histories never share an id.
    if (std::find(r.behind.begin(), r.behind.end(), s.failover_to) != r.behind.end()) {
      r.excluded.erase(s.failover_to);
      r.ranked.insert(r.ranked.begin(), s.failover_to);
    }
    if (!excluded(r) && why_not)
      reason += ", accepting the loss of acknowledged writes (operator; synchronous set " +
                (s.sync.empty() ? std::string("empty") : "[" + join(s.sync) + "]") + "; " + s.failover_to +
                " was not eligible: " + *why_not + ")";
    else if (!excluded(r))
      reason += " (operator accepted data loss; none expected: it was eligible)";
  }
  if (std::optional<std::string> why = excluded(r)) {
    // Blocked by a rule --accept-data-loss waives (synchronous mode, or the
    // target only behind the newest timeline): the advice names it.
    const bool sync_rule = in.synchronous_mode && why->rfind("synchronous mode", 0) == 0;
    const bool behind = std::find(r.behind.begin(), r.behind.end(), s.failover_to) != r.behind.end();
    std::string action = "fix the reason above, or request another member";
    if (!s.failover_accept_loss && (sync_rule || behind))
      action = std::string(sync_rule ? "bring back the members named above" : "bring back a member on the newest "
                                                                               "timeline") +
               "; only if they are gone for good: pgwarden ctl failover --to " + s.failover_to +
               " --accept-data-loss --confirm <cluster-name>";
    d.diagnostics.push_back({"failover_request_blocked",
                             "failover to " + s.failover_to + " requested but it cannot be promoted: " + *why,
                             action});
    if (s.paused) return d;
    *blocked = d.diagnostics;
    return std::nullopt;  // automatic failover may still pick another member
  }
  Command c = make(in, CmdType::set_primary, s.failover_to, reason);
  const auto& st = in.seen.at(s.failover_to).status;
  c.timeline = st.timeline;
  c.lsn = st.lsn;
  d.propose = c;
  return d;
}

// The only members that could take over are on an older timeline than the
// newest one known. Automatic failover stays refused: whoever wrote on the
// newer timeline may have acknowledged commits they lack. Names who holds
// it and the operator's two ways out.
Diagnostic behind_timeline(const DeciderInput& in, const Ranking& r, const std::string& why) {
  const ClusterState& s = *in.state;
  std::string holder;  // the member that wrote on r.timeline, as far as known
  for (const auto& [name, seen] : in.seen)
    if (seen.status.system_id == s.system_id && seen.status.data == DataKind::cluster &&
        seen.status.timeline == r.timeline)
      holder += (holder.empty() ? "" : ", ") + name;
  if (holder.empty() && s.ready_timeline == r.timeline)
    for (const auto& h : s.history)
      if (h.epoch == s.ready_epoch && !h.node.empty()) holder = h.node;
  const std::string who = holder.empty() ? std::string("the last primary") : holder;
  const uint32_t next = std::max(s.max_timeline, r.timeline) + 1;
  return {"failover_blocked_timeline",
          (s.primary.empty() ? std::string("no primary") : "the lease of " + s.primary + " expired") +
              "; the newest timeline is " + std::to_string(r.timeline) + " (" + who + ")" +
              (s.ready_timeline == r.timeline ? ", recorded in the cluster state" : "") + ", and " + join(r.behind) +
              (r.behind.size() == 1 ? " only reached an older timeline: it lacks" : " only reached older timelines: they lack") +
              " what was written on timeline " + std::to_string(r.timeline) + ", possibly acknowledged commits, so " +
              (r.behind.size() == 1 ? "it is not" : "none is") + " promoted automatically (" + why + ")",
          "bring " + who + " back (or a member that followed it onto timeline " + std::to_string(r.timeline) +
              "); if that data is lost for good, promote one of them and accept the loss: "
              "pgwarden ctl failover --to " + r.behind.front() + " --accept-data-loss --confirm <cluster-name> "
              "(it is promoted onto timeline " + std::to_string(next) + ")"};
}

Decision decide_automatic(const DeciderInput& in) {
  const ClusterState& s = *in.state;
  if (s.paused) {
    Decision d;
    d.diagnostics.push_back({"paused", "maintenance mode: no automatic bootstrap or failover",
                             "pgwarden ctl resume"});
    return d;
  }
  if (s.init == InitKind::absent) return decide_uninitialized(in);
  if (s.init == InitKind::claimed) return decide_claimed(in);

  Decision d;
  const bool holder_gone = s.primary.empty() || in.lease_expired;
  if (!holder_gone) {
    if (auto x = holder_not_serving(in)) d.diagnostics.push_back(*x);
    return d;
  }

  // Every reachable member is empty but some member is unreachable: that one
  // may hold the only copy (a primary that is merely down). Resetting would
  // discard it: the advice is to bring it back.
  if (all_members_empty(in, false) && !all_members_empty(in, true)) {
    std::vector<std::string> silent;
    for (const auto& m : in.members)
      if (!in.seen.count(m) || !in.seen.at(m).fresh) silent.push_back(m);
    if (!silent.empty()) {
      std::string last = s.primary.empty() ? std::string() : s.primary;
      d.diagnostics.push_back(
          {"data_member_unreachable",
           "every reachable member reports an empty data directory; " + join(silent) +
               " cannot be reached and may hold the cluster's data" +
               (last.empty() ? std::string() : " (" + last + " is the last primary)"),
           "bring " + join(silent) + " back (start pgwarden there, check the network between the nodes); "
           "only if its data is lost for good: pgwarden ctl reset-cluster --confirm <cluster-name>"});
      return d;
    }
  }
  // The seed's case: initialized, but nobody has data to run it from.
  if (all_members_empty(in, false)) {
    if (in.reinit_when_all_empty && all_members_empty(in, true)) {
      d.propose = make(in, CmdType::reset_cluster, "",
                       "reset-cluster: every member reports an empty data directory "
                       "(bootstrap.reinit_when_all_empty = on)");
      return d;
    }
    d.diagnostics.push_back(
        {"init_done_no_data",
         "the cluster was bootstrapped by " + s.init_node + " (system id " + std::to_string(s.system_id) +
             ") but no member has its data any more: every reachable data directory is empty, "
             "so no member can become primary and none may run initdb",
         "if the data is really gone, start over with: pgwarden ctl reset-cluster --confirm <cluster-name> "
         "(or set bootstrap.reinit_when_all_empty = on); otherwise restore a data directory on one member"});
    return d;
  }

  std::string target;
  if (s.switchover && !s.switchover->second.empty()) target = s.switchover->second;
  Ranking r = rank_candidates(in, s.primary.empty() ? std::string() : s.primary);
  std::string winner;
  if (!target.empty() &&
      std::find(r.ranked.begin(), r.ranked.end(), target) != r.ranked.end())
    winner = target;
  else if (!r.ranked.empty())
    winner = r.ranked.front();
  if (winner.empty()) {
    std::string why;
    for (const auto& [m, reason] : r.excluded) why += (why.empty() ? "" : "; ") + m + ": " + reason;
    // The timeline is what blocks only when no running member of the
    // cluster is on the newest timeline and no synchronous-mode rule waits
    // for someone: else the usual diagnostic names the rule that blocks
    // (found by ha_sync_quorum: restarted members still on the old
    // timeline hid "waiting to hear n4" behind "bring n1, n4 back").
    bool newest_running = false;
    for (const auto& [name, seen] : in.seen)
      newest_running |= seen.fresh && seen.status.system_id == s.system_id &&
                        seen.status.data == DataKind::cluster && seen.status.pg_running &&
                        seen.status.timeline >= r.timeline;
    if (!r.behind.empty() && r.sync_unheard.empty() && !newest_running) {
      d.diagnostics.push_back(behind_timeline(in, r, why));
      return d;
    }
    std::string action = "bring a standby of this cluster up to date, or "
                         "pgwarden ctl failover --to <member> once one is eligible";
    if (!r.sync_unheard.empty())
      action = "bring " + r.sync_unheard + " back (start pgwarden there, check the network between the nodes): "
               "synchronous mode promotes no one who might miss an acknowledged commit; only if they are gone "
               "for good, accept the loss: pgwarden ctl failover --to <member> --accept-data-loss "
               "--confirm <cluster-name>";
    // Only members tagged nofailover have the data (a DR replica outlived
    // the rest): the tag is absolute, so no request can promote them while
    // it is set. Say how to lift it (found by sim_ha seed 655766885639:5,
    // the primary lost for good and the others empty).
    std::string tagged_with_data;
    bool untagged_with_data = false;
    for (const auto& [m, reason] : r.excluded) {
      auto it = in.seen.find(m);
      if (m == s.primary || it == in.seen.end() || !it->second.fresh) continue;
      const MemberStatus& st = it->second.status;
      if (st.data != DataKind::cluster || st.system_id != s.system_id) continue;
      if (reason == "tagged nofailover") tagged_with_data += (tagged_with_data.empty() ? "" : ", ") + m;
      else untagged_with_data = true;
    }
    if (!tagged_with_data.empty() && !untagged_with_data)
      action = "only " + tagged_with_data + " (tagged nofailover) hold" +
               (tagged_with_data.find(',') == std::string::npos ? "s" : "") +
               " this cluster's data among the members that answer; " + action +
               "; to let one take over, remove nofailover from its [tags] and restart pgwarden there in place "
               "(systemctl kill -s USR2 pgwarden; PostgreSQL keeps running)";
    d.diagnostics.push_back({"no_failover_candidate",
                             (s.primary.empty() ? std::string("no primary")
                                                : "the lease of " + s.primary + " expired") +
                                 " and no member can take over: " + why,
                             action});
    return d;
  }
  std::string reason = s.primary.empty() ? "failover: no primary, elected " + winner
                                         : "failover: lease of " + s.primary + " expired";
  Command c = make(in, CmdType::set_primary, winner, reason);
  const auto& st = in.seen.at(winner).status;
  c.timeline = st.timeline;
  c.lsn = st.lsn;
  d.propose = c;
  return d;
}

}  // namespace

Decision decide(const DeciderInput& in) {
  Diagnostics blocked;
  if (auto d = decide_requests(in, &blocked)) return *d;
  Decision d = decide_automatic(in);
  if (!d.propose) d.diagnostics.insert(d.diagnostics.begin(), blocked.begin(), blocked.end());
  return d;
}

}  // namespace pw::node
