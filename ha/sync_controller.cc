// ha/sync_controller.cc — see sync_controller.h.
#include "ha/sync_controller.h"

#include <algorithm>
#include <iterator>

namespace pw::node {

void SyncController::commit(std::vector<std::string> members, const char* what) {
  inflight_ = true;
  ctx_.activity.set(AgentState::sync_updating, what);
  Command c;
  c.type = CmdType::set_sync;
  c.epoch = ctx_.state().epoch;
  c.node = ctx_.self();
  c.members = std::move(members);
  ctx_.propose(c, [this](ProposalOutcome o) {
    inflight_ = false;
    // Unknown: this set may still be committed later — after a change of S
    // that it would then contradict (a narrower C under a wider S). So no
    // decision is taken before a barrier of ours commits: by then this
    // proposal is applied or will never be (settled()).
    if (o == ProposalOutcome::unknown) unsettled_ = true;
  });
}

bool SyncController::settled() {
  if (!unsettled_) return true;
  inflight_ = true;
  ctx_.activity.set(AgentState::sync_updating, "confirming an earlier change of the committed set");
  Command b;
  b.type = CmdType::barrier;
  b.node = ctx_.self();
  ctx_.propose(b, [this](ProposalOutcome o) {
    inflight_ = false;
    if (o == ProposalOutcome::committed) unsettled_ = false;
  });
  return false;
}

void SyncController::set_names(const std::vector<std::string>& names) {
  std::string value;
  if (!names.empty()) {
    value = "ANY 1 (";
    for (size_t i = 0; i < names.size(); ++i) value += (i ? ",\"" : "\"") + names[i] + "\"";
    value += ")";
  }
  const uint64_t E = ctx_.state().epoch;
  ctx_.activity.begin(AgentState::sync_updating, "synchronous_standby_names = '" + value + "'");
  ctx_.pg().set_synchronous_standby_names(value, ctx_.activity.done([this, names, E](const pgctl::Result& r) {
    if (!r.ok) return;
    // Any new non-empty S within the epoch: if C must then shrink to it
    // (leaving asynchronous mode, or narrowing), reconcile() first waits
    // for a member of S to pass the position measured after this change.
    if (epoch_ == E && !names.empty() && names != pg_sync_) {
      probe_mark_ = ctx_.local.probes_done() + 2;
      catch_up_lsn_ = 0;
    }
    epoch_ = E;
    pg_sync_ = names;
  }));
}

bool SyncController::prepare_start() {
  const ClusterState& s = ctx_.state();
  if (inflight_ || !settled()) return true;
  std::vector<std::string> C = s.sync;
  std::sort(C.begin(), C.end());
  if (epoch_ == s.epoch && pg_sync_ == C) return false;
  set_names(C);
  return true;
}

bool SyncController::reconcile() {
  const ClusterState& s = ctx_.state();
  if (inflight_ || !settled()) return true;
  std::vector<std::string> C = s.sync;
  std::sort(C.begin(), C.end());
  if (epoch_ != s.epoch) {
    if (!C.empty()) {
      commit({}, "new epoch: committing the empty set before resetting PostgreSQL");
      return true;
    }
    set_names({});
    return true;
  }
  // D: the streaming members that could be promoted. A nofailover member
  // (a DR replica) is left out: a commit acknowledged by it alone would
  // make it the only member holding that commit, and since it may never be
  // promoted, failover would have no candidate at all (I4 + liveness).
  // The tag is the member's last status ever received, fresh or not: a
  // member whose status went stale (its agent frozen or cut off while its
  // PostgreSQL streams) keeps its tag. One never heard from since this
  // process started has an unknown tag, never assumed off: it is left out
  // until it reports.
  std::vector<std::string> D;
  for (const auto& sb : ctx_.local.status().standbys) {
    if (sb.state != "streaming" || ctx_.member_id(sb.application_name) == 0 || sb.application_name == ctx_.self())
      continue;
    const MemberStatus* st = ctx_.members.last(sb.application_name);
    if (!st || st->nofailover) continue;
    D.push_back(sb.application_name);
  }
  std::sort(D.begin(), D.end());
  D.erase(std::unique(D.begin(), D.end()), D.end());
  const std::vector<std::string>& S = pg_sync_;
  if (D.empty()) {
    if (!C.empty()) {
      commit({}, "committing the empty set before going asynchronous");
      return true;
    }
    if (!S.empty()) {
      set_names({});
      return true;
    }
    return false;
  }
  if (S != D) {
    if (!C.empty() && !std::includes(C.begin(), C.end(), D.begin(), D.end())) {
      std::vector<std::string> uni;
      std::set_union(C.begin(), C.end(), D.begin(), D.end(), std::back_inserter(uni));
      commit(uni, "committing the wider set");
      return true;
    }
    set_names(D);
    return true;
  }
  if (C != D) {
    // Here C is empty (leaving asynchronous mode) or C ⊋ D (narrowing: a
    // widening commits C ∪ D before S grows). Commits acknowledged before S
    // became D — asynchronously, or by a member that has left S alone —
    // must reach a member of D first.
    if (probe_mark_ != 0) {
      const pgctl::Status& st = ctx_.local.status();
      if (catch_up_lsn_ == 0) {
        if (ctx_.local.probes_done() < probe_mark_ || st.current_lsn == 0) {
          ctx_.activity.set(AgentState::sync_updating, "measuring the position after changing the standby names");
          return true;
        }
        catch_up_lsn_ = st.current_lsn;
      }
      uint64_t best = 0;
      for (const auto& sb : st.standbys)
        if (std::find(D.begin(), D.end(), sb.application_name) != D.end()) best = std::max(best, sb.replay_lsn);
      if (best < catch_up_lsn_) {
        ctx_.activity.set(AgentState::sync_updating, "waiting for a synchronous standby to catch up");
        return true;
      }
      probe_mark_ = 0;
    }
    commit(D, "committing the set PostgreSQL waits for");
    return true;
  }
  return false;
}

}  // namespace pw::node
