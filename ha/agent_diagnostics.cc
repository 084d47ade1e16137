// ha/agent_diagnostics.cc — see agent_diagnostics.h.
#include "ha/agent_diagnostics.h"

#include <algorithm>

namespace pw::node {

Diagnostics local_diagnostics(const AgentContext& ctx, const FencerHealth& fencer, int64_t started_ms) {
  Diagnostics d;
  const conf::Config& cfg = ctx.cfg;
  int64_t now = ctx.now();
  if (ctx.raft && ctx.fresh_since() == 0 && now - started_ms > 2 * cfg.raft_election_timeout_ms) {
    std::string unreachable, reachable = cfg.node_name;
    for (const auto& m : ctx.roster()) {
      if (m.name == cfg.node_name || !m.voter) continue;  // learners do not make a quorum
      int64_t h = ctx.raft->last_heard_ms(m.id);
      if (h == 0 || now - h > 2 * cfg.raft_election_timeout_ms)
        unreachable += (unreachable.empty() ? "" : ", ") + m.name + " (" + m.host + ":" + std::to_string(m.raft_port) + ")";
      else
        reachable += "," + m.name;
    }
    std::string action =
        "start pgwarden on the unreachable members and check that their raft port is open "
        "between the nodes; this node will not act as primary meanwhile";
    std::string head = "no quorum: ";
    int64_t since = std::max(ctx.quorum_seen_ms, started_ms);
    if (now - since > cfg.raft_recover_hint_after_ms) {
      // The message changes once, when the hint appears, so the log shows it.
      head = "no quorum for more than " + std::to_string(cfg.raft_recover_hint_after_ms / 1000) + "s: ";
      action += ". If they are gone for good: stop pgwarden on every survivor, run `pgwarden recover "
                "--force-members " + reachable + "` on this node (it prints what is kept and lost; add "
                "--confirm " + cfg.cluster_name + " to carry it out), start it again, then add new "
                "members (docs/operations.md, \"Recovering from a lost quorum\")";
    }
    d.push_back({"no_quorum",
                 head + "this node cannot reach a majority of the cluster; unreachable: " +
                     (unreachable.empty() ? std::string("none (election in progress)") : unreachable),
                 action});
  }
  if (ctx.raft) {
    if (std::string drift = ctx.raft->membership_drift(); !drift.empty())
      d.push_back({"members_file_drift", drift,
                   "edit [cluster] members in this node's file to match `pgwarden ctl member list` (only "
                   "a brand-new cluster starts from it; nothing else needs a restart)"});
    if (ctx.roster_epoch() > 0 && !ctx.is_member(cfg.node_name))
      d.push_back({"not_a_member",
                   "this node (" + cfg.node_name + ") is not a member of the cluster (membership epoch " +
                       std::to_string(ctx.roster_epoch()) + "): it was removed, or not added yet",
                   "to (re)join: on a member run `pgwarden ctl member add " + cfg.node_name + "=" +
                       cfg.self().host + "`; a removed node must first be stopped and have its state "
                       "directory moved aside (its old identity is refused for good)"});
  }
  const ClusterState& s = ctx.state();
  const pgctl::DataDirInfo& data = ctx.local.data();
  if (s.init == InitKind::done && data.kind == pgctl::DataDirInfo::Kind::cluster && data.system_id != s.system_id)
    d.push_back({"foreign_data_dir",
                 "the data directory " + cfg.pg_data_dir + " belongs to another cluster (system id " +
                     std::to_string(data.system_id) + ", this cluster is " + std::to_string(s.system_id) + ")",
                 "move it away yourself, or set [postgresql] move_aside_foreign_data = on to let pgwarden rename it and clone"});
  if (data.kind == pgctl::DataDirInfo::Kind::unusable)
    d.push_back({"data_dir_unusable", "the data directory " + cfg.pg_data_dir + " is unusable: " + data.reason,
                 "fix it or move it away; pgwarden never deletes it"});
  if (!ctx.activity.last_error().empty() && is_copying(ctx.activity.state()))
    d.push_back({"clone_failing", "cloning this member fails: " + ctx.activity.last_error(),
                 "check that the primary is reachable on its PostgreSQL port and the replication password file matches"});
  if (!fencer.alive)
    d.push_back({"fencer_down",
                 "the fencer process is down and could not be restarted (" + fencer.last_failure +
                     "): a frozen agent would not stop a writable PostgreSQL (I2)",
                 "check the log for why it died and restart pgwarden on this node"});
  return d;
}

void name_missing_primary(Diagnostics& d, int64_t unwritable_for_ms, int64_t loop_ms, const std::string& reason) {
  if (unwritable_for_ms <= 0 || unwritable_for_ms < loop_ms) return;
  // Diagnostics about this node alone; any other (the decider's, no_quorum)
  // already says why the cluster has no primary.
  static const char* const kLocalOnly[] = {"members_file_drift", "not_a_member", "foreign_data_dir",
                                           "data_dir_unusable", "clone_failing", "fencer_down"};
  for (const auto& x : d)
    if (std::none_of(std::begin(kLocalOnly), std::end(kLocalOnly), [&](const char* c) { return x.code == c; }))
      return;
  d.push_back({"no_writable_primary",
               "no primary accepts writes through this node for " + std::to_string((unwritable_for_ms + 999) / 1000) +
                   " s: " + (reason.empty() ? std::string("no route") : reason),
               "wait a few seconds (a raft election or a failover is under way); if it lasts, the raft leader's "
               "diagnostics (pgwarden ctl list) and log name what blocks it"});
}

}  // namespace pw::node
