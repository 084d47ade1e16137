// ha/sync_controller.cc — see sync_controller.h.
#include "ha/sync_controller.h"

#include <algorithm>
#include <iterator>
#include <tuple>

#include "base/log.h"

namespace pw::node {

std::string synchronous_standby_names(const std::vector<std::string>& names, size_t k) {
  if (names.empty()) return "";
  std::string value = "ANY " + std::to_string(std::clamp<size_t>(k, 1, names.size())) + " (";
  for (size_t i = 0; i < names.size(); ++i) value += (i ? ",\"" : "\"") + names[i] + "\"";
  return value + ")";
}

void SyncController::commit(std::vector<std::string> members, size_t acks, const char* what) {
  inflight_ = true;
  ctx_.activity.set(AgentState::sync_updating, what);
  Command c;
  c.type = CmdType::set_sync;
  c.epoch = ctx_.state().epoch;
  c.node = ctx_.self();
  c.members = std::move(members);
  c.seq = c.members.empty() ? 0 : acks;
  PW_INFO("sync", "proposing synchronous set [%s] acks=%zu epoch=%llu: %s",
          [&] {
            std::string s;
            for (const auto& m : c.members) s += (s.empty() ? "" : ",") + m;
            return s;
          }().c_str(),
          static_cast<size_t>(c.seq), static_cast<unsigned long long>(c.epoch), what);
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

void SyncController::set_names(const std::vector<std::string>& names, size_t k) {
  const std::string value = synchronous_standby_names(names, k);
  k = names.empty() ? 0 : std::clamp<size_t>(k, 1, names.size());
  const uint64_t E = ctx_.state().epoch;
  ctx_.activity.begin(AgentState::sync_updating, "synchronous_standby_names = '" + value + "'");
  ctx_.pg().set_synchronous_standby_names(value, ctx_.activity.done([this, names, k, E](const pgctl::Result& r) {
    if (!r.ok) return;
    // Any new non-empty setting within the epoch: if (C, q) must then
    // shrink to it (leaving asynchronous mode, narrowing, raising q),
    // reconcile() first waits for the catch-up past the position measured
    // after this change.
    if (epoch_ == E && !names.empty() && (names != pg_sync_ || k != pg_k_)) {
      probe_mark_ = ctx_.local.probes_done() + 2;
      catch_up_lsn_ = 0;
    }
    epoch_ = E;
    pg_sync_ = names;
    pg_k_ = k;
  }));
}

bool SyncController::prepare_start() {
  const ClusterState& s = ctx_.state();
  if (inflight_ || !settled()) return true;
  std::vector<std::string> C = s.sync;
  std::sort(C.begin(), C.end());
  size_t k = C.empty() ? 1 : sync_ack_count(s);
  if (C.empty() && ctx_.cfg.ha_synchronous_mode_strict) C = {kNoSyncStandbyName};
  if (epoch_ == s.epoch && pg_sync_ == C && pg_k_ == (C.empty() ? 0 : k)) return false;
  set_names(C, k);
  return true;
}

std::vector<std::string> SyncController::choose(const std::vector<std::string>& committed) const {
  // The streaming members that could be promoted. A nofailover member (a DR
  // replica) is left out: a commit acknowledged by it alone would make it
  // the only member holding that commit, and since it may never be
  // promoted, failover would have no candidate at all (I4 + liveness).
  struct Cand {
    bool in_s, in_c;
    int32_t priority;
    uint64_t replay;
    std::string name;
  };
  std::vector<Cand> all;
  auto has = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  for (const auto& sb : ctx_.local.status().standbys) {
    const std::string& name = sb.application_name;
    if (sb.state != "streaming" || ctx_.member_id(name) == 0 || name == ctx_.self()) continue;
    // The tag is the member's last status ever received, fresh or not: a
    // member whose status went stale (its agent frozen or cut off while its
    // PostgreSQL streams) keeps its tag. One never heard from since this
    // process started has an unknown tag, never assumed off: it is left out
    // until it reports.
    const MemberStatus* st = ctx_.members.last(name);
    if (!st || st->nofailover) continue;
    if (ctx_.state().reinit.count(name)) continue;  // about to stop and re-clone
    // Being removed (member remove, phase 1): never chosen, so a member of
    // C leaves it by the narrowing below; the log refuses adding it anyway.
    if (name == ctx_.state().removing) continue;
    if (std::any_of(all.begin(), all.end(), [&](const Cand& c) { return c.name == name; })) continue;
    all.push_back({has(pg_sync_, name), has(committed, name), st->priority, sb.replay_lsn, name});
  }
  // Keep whom PostgreSQL already waits for, then members already committed
  // (no widening), then the preferred failover targets, the most caught up
  // (~replay: descending).
  std::sort(all.begin(), all.end(), [](const Cand& a, const Cand& b) {
    return std::make_tuple(!a.in_s, !a.in_c, -static_cast<int64_t>(a.priority), ~a.replay, a.name) <
           std::make_tuple(!b.in_s, !b.in_c, -static_cast<int64_t>(b.priority), ~b.replay, b.name);
  });
  const size_t k = static_cast<size_t>(std::max(1, ctx_.cfg.ha_synchronous_node_count));
  std::vector<std::string> D;
  for (size_t i = 0; i < all.size() && i < k; ++i) D.push_back(all[i].name);
  std::sort(D.begin(), D.end());
  return D;
}

std::string SyncController::degraded(uint64_t epoch) const {
  const ClusterState& s = ctx_.state();
  if (!configured(epoch) || s.epoch != epoch || s.primary != ctx_.self() || s.ready_epoch != epoch) return "";
  if (pg_sync_.empty())
    return "no synchronous standby streams: the primary acknowledges commits alone (asynchronous) until one does";
  size_t streaming = 0;
  for (const auto& sb : ctx_.local.status().standbys)
    if (sb.state == "streaming" && std::find(pg_sync_.begin(), pg_sync_.end(), sb.application_name) != pg_sync_.end())
      ++streaming;
  if (ctx_.cfg.ha_synchronous_mode_strict && streaming < pg_k_)
    return "no synchronous standby streams: commits wait until " +
           std::string(pg_sync_ == std::vector<std::string>{kNoSyncStandbyName} ? "a standby"
                                                                                  : "a synchronous standby") +
           " streams (synchronous_mode_strict)";
  return "";
}

bool SyncController::reconcile() {
  const ClusterState& s = ctx_.state();
  if (inflight_ || !settled()) return true;
  if (std::string d = degraded(s.epoch); d.empty() != !degraded_logged_) {
    degraded_logged_ = !d.empty();
    if (degraded_logged_)
      PW_WARN("sync", "synchronous mode degraded epoch=%llu: %s", static_cast<unsigned long long>(s.epoch), d.c_str());
    else
      PW_INFO("sync", "synchronous standby streaming again epoch=%llu", static_cast<unsigned long long>(s.epoch));
  }
  const bool strict = ctx_.cfg.ha_synchronous_mode_strict;
  const std::vector<std::string> placeholder{kNoSyncStandbyName};
  std::vector<std::string> C = s.sync;
  std::sort(C.begin(), C.end());
  const size_t q = sync_ack_count(s);
  if (epoch_ != s.epoch) {
    if (!C.empty()) {
      commit({}, 0, "new epoch: committing the empty set before resetting PostgreSQL");
      return true;
    }
    set_names(strict ? placeholder : std::vector<std::string>{}, 1);
    return true;
  }
  const std::vector<std::string> D = choose(C);
  const size_t kD = D.size();  // choose() takes at most k
  const std::vector<std::string>& S = pg_sync_;
  if (D.empty()) {
    if (strict) {
      // Block rather than degrade: PostgreSQL keeps waiting for the names it
      // has (one of them may come back), or for one no standby has.
      if (S.empty()) {
        if (!C.empty()) {  // not reached: S = "" only ever runs under C = ∅
          commit({}, 0, "committing the empty set before waiting for no standby");
          return true;
        }
        set_names(placeholder, 1);
        return true;
      }
      return false;
    }
    if (!C.empty()) {
      commit({}, 0, "committing the empty set before going asynchronous");
      return true;
    }
    if (!S.empty()) {
      set_names({}, 0);
      return true;
    }
    return false;
  }
  if (S != D || pg_k_ != kD) {
    if (!C.empty() && (!std::includes(C.begin(), C.end(), D.begin(), D.end()) || q > kD)) {
      std::vector<std::string> uni;
      std::set_union(C.begin(), C.end(), D.begin(), D.end(), std::back_inserter(uni));
      commit(uni, std::min(q, kD), "committing the wider set");
      return true;
    }
    set_names(D, kD);
    return true;
  }
  if (C != D || q != kD) {
    // Here C is empty (leaving asynchronous mode), or C ⊋ D or q < kD
    // (widening committed (C ∪ D, min(q, kD)) before S changed). Commits
    // acknowledged before S became D — asynchronously, by a member that has
    // left S, or by fewer members — must be on kD members of D first.
    if (probe_mark_ != 0) {
      const pgctl::Status& st = ctx_.local.status();
      if (catch_up_lsn_ == 0) {
        if (ctx_.local.probes_done() < probe_mark_ || st.current_lsn == 0) {
          ctx_.activity.set(AgentState::sync_updating, "measuring the position after changing the standby names");
          return true;
        }
        catch_up_lsn_ = st.current_lsn;
      }
      std::vector<uint64_t> replay;
      for (const auto& sb : st.standbys)
        if (std::find(D.begin(), D.end(), sb.application_name) != D.end()) replay.push_back(sb.replay_lsn);
      std::sort(replay.begin(), replay.end(), std::greater<>());
      if (replay.size() < kD || replay[kD - 1] < catch_up_lsn_) {
        ctx_.activity.set(AgentState::sync_updating, "waiting for the synchronous standbys to catch up");
        return true;
      }
      probe_mark_ = 0;
    }
    commit(D, kD, "committing the set PostgreSQL waits for");
    return true;
  }
  return false;
}

}  // namespace pw::node
