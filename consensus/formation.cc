// consensus/formation.cc — see formation.h.
#include "consensus/formation.h"

#include "consensus/handshake.h"

namespace pw::consensus {

size_t blocking_count(size_t voters) {
  return (voters + 1) / 2;
}

std::string formation_refusal(const FormationView& v, uint64_t peer_id, uint64_t theirs) {
  if (theirs == 0 || theirs == v.own_log_id) return {};
  size_t voters = 0, confirming = 0;
  std::string who;  // the voters announcing `theirs`
  for (const MemberInfo& m : v.membership.members) {
    if (!m.voter) continue;  // learners never make a quorum
    ++voters;
    auto it = v.announced.find(m.id);
    if (m.id == v.self_id || it == v.announced.end() || it->second != theirs) continue;
    ++confirming;
    who += (who.empty() ? "" : ", ") + m.name;
  }
  const size_t need = blocking_count(voters);
  if (voters > 0 && confirming >= need) return {};
  const MemberInfo* peer = v.membership.find(peer_id);
  std::string name = peer ? peer->name : "id " + std::to_string(peer_id);
  return std::string(kUnconfirmedClusterId) + ": member '" + name + "' announces cluster id " +
         cluster_id_text(theirs) + ", which " + std::to_string(confirming) + " of the " +
         std::to_string(voters) + " voters announce" + (who.empty() ? "" : " (" + who + ")") +
         ", and this node '" + v.self_name +
         "' has no cluster id yet (it started with no raft state). It takes part in an existing "
         "cluster only once " +
         std::to_string(need) +
         " voters announce its id; until then the members without state form a new cluster "
         "rather than adopt one member's history. If '" +
         name +
         "' kept the state directory of an earlier cluster with the same name and members, move "
         "it aside there (`pgwarden ctl list` on it prints the command); if the members that "
         "hold this cluster's state are only down, start them";
}

}  // namespace pw::consensus
