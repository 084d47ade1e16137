// tests/sim/sim_ha_rules.cc — see sim_ha_rules.h.
#include "sim_ha_rules.h"

#include <algorithm>

namespace pw::sim {

namespace {
std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
  return out.empty() ? std::string("none") : out;
}
}  // namespace

FailoverRule failover_rule(HaWorld& w, const node::ClusterState& s, const std::set<std::string>& members) {
  FailoverRule r;
  if (s.init != node::InitKind::done) {
    r.rule = "the cluster is not bootstrapped";
    return r;
  }
  std::vector<std::string> lost;
  // Survivors that may take over: members, not lost, holding this
  // cluster's data (a survivor with a pending reinit moves it aside first),
  // not tagged nofailover.
  std::map<std::string, const SimNode*> holders;
  for (auto& [id, n] : w.nodes()) {
    if (!members.count(n.name)) continue;
    if (n.lost) {
      lost.push_back(n.name);
      continue;
    }
    if (!n.disk.has_data || n.disk.system_id != s.system_id || s.reinit.count(n.name)) continue;
    if (!n.cfg.tag_nofailover) holders[n.name] = &n;
  }
  // Raft first: without a quorum of the voters nothing can be decided.
  if (2 * (members.size() - lost.size()) <= members.size()) {
    r.rule = "no raft quorum: " + join(lost) + " of " + std::to_string(members.size()) + " voters lost";
    return r;
  }
  const bool primary_lost = std::find(lost.begin(), lost.end(), s.primary) != lost.end();
  if (lost.empty()) {
    r.required = true;
    r.rule = "every fault healed, no host lost: the cluster must have a primary again";
    return r;
  }
  if (!s.primary.empty() && !primary_lost && holders.count(s.primary)) {
    r.required = true;
    r.rule = "the last primary " + s.primary + " survives with its data (lost: " + join(lost) +
             "): it must be writable again or hand over";
    return r;
  }
  if (holders.empty()) {
    r.rule = "no surviving member holds the cluster's data (lost: " + join(lost) + ")";
    return r;
  }
  // The timeline rule (both modes): a candidate must be on the newest
  // timeline known, recorded or reported (docs/operations.md,
  // failover_blocked_timeline); whoever wrote on a newer one may be lost.
  // The checker takes the newest any promotion opened (a superset of what
  // the survivors may have heard of: conservative).
  const uint32_t newest_known = std::max(s.ready_timeline, w.newest_timeline(s.system_id));
  std::vector<std::string> current;
  for (const auto& [name, n] : holders)
    if (n->disk.timeline >= newest_known) current.push_back(name);
  if (current.empty()) {
    r.rule = "timeline rule: the newest timeline is " + std::to_string(newest_known) +
             " and no survivor reached it (lost: " + join(lost) + ")";
    return r;
  }
  if (!w.sync_mode()) {
    r.required = true;
    r.rule = "asynchronous mode: the primary " + (s.primary.empty() ? std::string("(none)") : s.primary) +
             " is lost for good (lost: " + join(lost) + ") and " + join(current) +
             " hold the cluster's data on the newest timeline " + std::to_string(newest_known) +
             " with a quorum up: failover must happen";
    return r;
  }
  // Synchronous mode, the quorum-commit rule: with q = min(max(1, sync_acks),
  // |C|), every acknowledged commit is on q members of C; hearing |C| - q + 1
  // of them covers one holder of each, so failover may and must proceed.
  if (s.sync.empty()) {
    r.rule = "synchronous mode, empty synchronous set: only the last primary " + s.primary +
             " has every acknowledged commit, and it is lost";
    return r;
  }
  const size_t q = std::min<size_t>(std::max<uint32_t>(1, s.sync_acks), s.sync.size());
  const size_t need = s.sync.size() - q + 1;
  std::vector<std::string> heard;
  for (const auto& m : s.sync)
    if (holders.count(m) && holders.at(m)->disk.timeline >= newest_known) heard.push_back(m);
  const std::string sets = "synchronous set C = [" + join(s.sync) + "], q = " + std::to_string(q) + ": " +
                           std::to_string(need) + " of C must be heard";
  if (heard.size() < need) {
    r.rule = "synchronous mode, " + sets + " and " +
             (heard.empty() ? std::string("none of C survives") : "only " + join(heard) + " of C survive") +
             " with the data (lost: " + join(lost) +
             "): a lost member may hold the latest acknowledged commit, no automatic failover";
    return r;
  }
  r.required = true;
  r.rule = "synchronous mode (synchronous_node_count " + std::to_string(w.node(1).cfg.ha_synchronous_node_count) +
           "), " + sets + " and " + join(heard) + " of C survive with the data (lost: " + join(lost) +
           "): failover must happen";
  return r;
}

}  // namespace pw::sim
