// consensus/formation.h — the formation rule: which cluster a node that
// does not know its cluster id yet (identity.h: it started with no raft
// state, or its cluster has not committed entry 1) may take part in.
//
// A member left with the state directory of an earlier cluster that had the
// same name and members announces that cluster's id in its handshake, and
// its log is longer than an empty one: members that start empty would vote
// for it and adopt its history (the new cluster then believes it was
// bootstrapped, with the data nowhere: the seed's failure). Nothing in its
// log tells it from a survivor of the current cluster, so an empty node goes
// by numbers, as etcd does with --initial-cluster-state and its cluster
// token:
//
// * it admits a peer announcing cluster id X only when at least
//   blocking_count(n) of the n voters it knows of announce X — so many that
//   the voters without X, itself included, can never be a quorum without
//   them (a normal restart of the others, a member whose state dir was
//   moved aside, `ctl member add`, the survivors of `recover`);
// * or when its own log already starts with X (it took part in forming X);
// * otherwise it refuses the peer, which redials, so the rule counts again
//   on every handshake. A quorum of members without state then elects one
//   of themselves and forms a new cluster with a new id, and the lone stale
//   member is refused for good by the id mismatch (transport.h).
//
// A node that knows its id never applies this rule; peers announcing no id
// (0: empty, or from before cluster ids) are always admitted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "consensus/membership.h"

namespace pw::consensus {

/// Start of the handshake refusal the formation rule gives (its peer's
/// diagnostics recognise it, as they recognise "cluster id mismatch").
inline constexpr char kUnconfirmedClusterId[] = "unconfirmed cluster id";

/// The fewest of `voters` voters without which the others can never form a
/// quorum: ceil(voters / 2) (1 of 1 or 2, 2 of 3 or 4, 3 of 5). That many
/// voters announcing an id confirm it; that many refusing a node keep it out.
size_t blocking_count(size_t voters);

/// What a node without a cluster id knows when a peer announces one.
struct FormationView {
  Membership membership;  ///< in force on this node (the seed, a joined one, or its log's)
  uint64_t self_id = 0;
  std::string self_name;
  uint64_t own_log_id = 0;  ///< the id entry 1 of this node's own log carries (0 = none)
  /// Peer id → the cluster id it announced in its latest handshake (0 or
  /// absent: none). Includes the peer being decided on.
  std::map<uint64_t, uint64_t> announced;
};

/// "" when a peer `peer_id` announcing cluster id `theirs` may take part with
/// this node; otherwise the refusal, starting with kUnconfirmedClusterId: who
/// announces it, how many voters would have to, why, and what to do.
std::string formation_refusal(const FormationView& v, uint64_t peer_id, uint64_t theirs);

}  // namespace pw::consensus
