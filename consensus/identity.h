// consensus/identity.h — the cluster identity recorded in a state directory:
// which cluster (name) and which members (names, in id order) its Raft log
// belongs to. A directory whose identity disagrees with the configuration is
// refused, naming what differs, so a mix of wiped and unwiped directories is
// caught instead of silently merged (the seed deployment's failure mode).
//
// It also records the cluster id: a random 64-bit number a cluster is given
// once, when its first leader commits the first log entry (Core writes it
// into that entry; RaftNode persists it here). Name and members can repeat
// when a cluster is rebuilt; the id does not, so a state directory left from
// an earlier cluster with the same name and members is refused by its peers
// at the handshake instead of having its old log merged (docs/consensus.md).
//
// File `identity` in the state dir, replaced atomically:
//   "PWID" u8 version=2, bytes cluster_name, u32 n, n x bytes member, u64 cluster_id,
//   u32 crc32c(all before)
// Version 1 (no cluster_id) is still read, as cluster id 0.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pw::consensus {

struct ClusterIdentity {
  std::string cluster_name;
  std::vector<std::string> members;  ///< member names; member i has node id i + 1
  uint64_t cluster_id = 0;           ///< 0 = not known yet (identity_diff ignores it)
  bool operator==(const ClusterIdentity&) const = default;
};

/// Reads `dir`/identity. nullopt if the file does not exist; throws
/// std::runtime_error (file + what to do) if it is unreadable or corrupt.
std::optional<ClusterIdentity> read_identity(const std::string& dir);

/// Writes `dir`/identity atomically (temp file, fsync, rename, fsync dir).
void write_identity(const std::string& dir, const ClusterIdentity& id);

/// Describes how `stored` differs from `config` ("" if equal), e.g.
/// "cluster name differs: state dir has 'a', config has 'b'" or
/// "member 3 differs: state dir has 'db3', config has 'db4'".
std::string identity_diff(const ClusterIdentity& stored, const ClusterIdentity& config);

/// Start-up check. If `dir` has an identity file it must equal `want`
/// (else std::runtime_error naming the difference and what to do). If it has
/// none: creates it when the directory holds no Raft state yet, and refuses
/// (std::runtime_error) when it does (log/hard state without identity).
/// With `compare_members` false only the cluster name is compared: once the
/// log carries a membership (membership.h) it, not the configuration's
/// member list, says who the members are (RaftNode checks the list itself
/// while the log has none).
void check_identity(const std::string& dir, const ClusterIdentity& want,
                    bool compare_members = true);

/// Records `cluster_id` in `dir`'s identity file (which must exist; see
/// check_identity), atomically. Throws std::runtime_error on I/O errors.
void save_cluster_id(const std::string& dir, uint64_t cluster_id);

}  // namespace pw::consensus
