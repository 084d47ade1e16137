// consensus/membership_config.cc — between the configuration file's member
// list (the seed) and the membership the log carries: the seed as a
// Membership, and how the two differ (raft_node.h).
#include <set>

#include "consensus/raft_node.h"

namespace pw::consensus {

std::vector<MemberInfo> seed_members(const std::vector<Peer>& peers) {
  std::vector<MemberInfo> v;
  for (const Peer& p : peers) v.push_back(MemberInfo{p.id, p.name, p.host, p.port, true, false});
  return v;
}

std::string membership_drift(const Membership& m, const std::vector<Peer>& configured) {
  std::string diff;
  auto add = [&](const std::string& s) { diff += (diff.empty() ? "" : "; ") + s; };
  std::set<std::string> listed;
  for (const Peer& p : configured) {
    listed.insert(p.name);
    const MemberInfo* x = m.find_name(p.name);
    if (!x) {
      add("'" + p.name + "' is listed in [cluster] members but is not a member");
    } else if (x->host != p.host || x->port != p.port) {
      add("'" + p.name + "' is at " + x->host + ":" + std::to_string(x->port) +
          " in the membership, " + p.host + ":" + std::to_string(p.port) + " in the file");
    }
  }
  for (const MemberInfo& x : m.members)
    if (!listed.count(x.name)) add("member '" + x.name + "' is missing from [cluster] members");
  if (diff.empty()) return diff;
  return "the configuration file disagrees with the committed membership (epoch " +
         std::to_string(m.epoch) + ": " + m.describe() + "): " + diff +
         ". The file is only the seed list; this node follows the committed membership. "
         "Bring [cluster] members in line with `pgwarden ctl member list` on every node";
}

}  // namespace pw::consensus
