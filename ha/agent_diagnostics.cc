// ha/agent_diagnostics.cc — see agent_diagnostics.h.
#include "ha/agent_diagnostics.h"

#include <algorithm>
#include <optional>

#include "consensus/formation.h"
#include "consensus/handshake.h"

namespace pw::node {
namespace {

// A refusal for a cluster id older than this is history: a refused peer
// redials within a couple of seconds, so one still running is refused again
// long before this (the transport's backoff tops out at 2 s).
constexpr int64_t kRefusalCurrentMs = 15000;

// A member whose raft state this node refuses, or that refuses ours, for
// its cluster id (consensus/formation.h, transport.h).
struct Refusal {
  std::string name;
  bool voter = false;
  consensus::PeerStats stats;
};

std::vector<Refusal> identity_refusals(const AgentContext& ctx) {
  std::vector<Refusal> out;
  int64_t now = ctx.now();
  for (const auto& m : ctx.roster()) {
    if (m.name == ctx.cfg.node_name) continue;
    consensus::PeerStats s = ctx.raft->peer_stats(m.id);
    if (s.identity_refusal.empty() || now - s.identity_refused_ms > kRefusalCurrentMs) continue;
    out.push_back({m.name, m.voter, s});
  }
  return out;
}

// `s` as one shell word (single-quoted unless it is plainly safe).
std::string shell_word(const std::string& s) {
  bool plain = !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                 "0123456789/._-+:,@%=") == std::string::npos;
  if (plain) return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The command that moves this node's state directory aside (named after the
// stale cluster id, so it is unique and says what it holds) and restarts it.
std::string move_aside_command(const std::string& state_dir, uint64_t cluster_id) {
  std::string dir = state_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  std::string aside = dir + ".cluster-" + consensus::cluster_id_text(cluster_id).substr(2);
  return "systemctl stop pgwarden && mv " + shell_word(dir) + " " + shell_word(aside) +
         " && systemctl start pgwarden";
}

// This node's raft state is refused by so many voters that the others can
// never form a quorum with it (it kept an earlier cluster's state dir while
// they formed, or form, a new cluster): its own diagnostic, with the command.
std::optional<Diagnostic> stale_raft_state(const AgentContext& ctx, const std::vector<Refusal>& refusals) {
  uint64_t ours = ctx.raft->cluster_id();
  if (ours == 0) return std::nullopt;  // nobody refuses a node without an id for it
  size_t voters = 0, refusing = 0;
  for (const auto& m : ctx.roster()) voters += m.voter;
  std::string who;
  for (const Refusal& r : refusals) {
    if (!r.voter) continue;
    ++refusing;
    uint64_t theirs = r.stats.cluster_id;
    who += (who.empty() ? "" : "; ") + r.name +
           (theirs != 0 && theirs != ours
                ? " has cluster id " + consensus::cluster_id_text(theirs)
                : std::string(" started without raft state and forms a new cluster rather than adopt this "
                              "node's history"));
  }
  if (voters == 0 || refusing < consensus::blocking_count(voters)) return std::nullopt;
  const conf::Config& cfg = ctx.cfg;
  return Diagnostic{
      "stale_raft_state",
      "the other members refuse this node's raft state: its state directory " + cfg.state_dir +
          " holds cluster id " + consensus::cluster_id_text(ours) +
          ", left from an earlier cluster with the same name and members (" + who +
          "). This node takes no part in the cluster while it keeps that state",
      "if the members named are the cluster you want, move this node's state directory aside (nothing is "
      "deleted) and start it again: it joins as an empty member and is caught up; its PostgreSQL data "
      "directory is left as it is. Type: `" +
          move_aside_command(cfg.state_dir, ours) + "`"};
}

}  // namespace

Diagnostics local_diagnostics(const AgentContext& ctx, const FencerHealth& fencer, int64_t started_ms) {
  Diagnostics d;
  const conf::Config& cfg = ctx.cfg;
  int64_t now = ctx.now();
  std::vector<Refusal> refusals = ctx.raft ? identity_refusals(ctx) : std::vector<Refusal>{};
  std::optional<Diagnostic> stale = ctx.raft ? stale_raft_state(ctx, refusals) : std::nullopt;
  if (stale) {
    // Not no_quorum: starting the "unreachable" members would not help.
    d.push_back(*stale);
  } else if (ctx.raft && ctx.fresh_since() == 0 && now - started_ms > 2 * cfg.raft_election_timeout_ms) {
    std::string unreachable, reachable = cfg.node_name;
    for (const auto& m : ctx.roster()) {
      if (m.name == cfg.node_name || !m.voter) continue;  // learners do not make a quorum
      int64_t h = ctx.raft->last_heard_ms(m.id);
      auto refused = std::find_if(refusals.begin(), refusals.end(), [&](const Refusal& r) { return r.name == m.name; });
      if (h == 0 || now - h > 2 * cfg.raft_election_timeout_ms || refused != refusals.end()) {
        unreachable += (unreachable.empty() ? "" : ", ") + m.name + " (" + m.host + ":" + std::to_string(m.raft_port);
        if (refused != refusals.end()) {
          const consensus::PeerStats& s = refused->stats;
          std::string id = consensus::cluster_id_text(s.cluster_id);
          unreachable += s.refused_by_peer              ? ", refuses this node's raft state"
                         : ctx.raft->cluster_id() == 0 ? ", not admitted: its cluster id " + id +
                                                             " is not confirmed by enough voters yet"
                                                       : ", refused: its raft state has cluster id " + id;
        }
        unreachable += ")";
      } else {
        reachable += "," + m.name;
      }
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
  if (ctx.raft && !stale) {
    // Members this cluster refuses for a state dir of an earlier cluster.
    uint64_t ours = ctx.raft->cluster_id();
    std::string who;
    for (const Refusal& r : refusals)
      if (ours != 0 && r.stats.cluster_id != 0 && r.stats.cluster_id != ours)
        who += (who.empty() ? "" : ", ") + r.name + " (cluster id " +
               consensus::cluster_id_text(r.stats.cluster_id) + ")";
    if (!who.empty())
      d.push_back({"member_refused",
                   "refused for a raft state left from an earlier cluster with the same name and members: " + who +
                       "; this cluster's id is " + consensus::cluster_id_text(ours) + ". It carries on without them",
                   "on each of them, `pgwarden ctl list` shows the command to type (stop pgwarden, move its state "
                   "directory aside, start it); it then joins this cluster"});
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
