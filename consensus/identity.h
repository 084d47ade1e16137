// consensus/identity.h — the cluster identity recorded in a state directory:
// which cluster (name) and which members (names, in id order) its Raft log
// belongs to. A directory whose identity disagrees with the configuration is
// refused, naming what differs, so a mix of wiped and unwiped directories is
// caught instead of silently merged (the seed deployment's failure mode).
//
// File `identity` in the state dir, replaced atomically:
//   "PWID" u8 version=1, bytes cluster_name, u32 n, n x bytes member, u32 crc32c(all before)
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pw::consensus {

struct ClusterIdentity {
  std::string cluster_name;
  std::vector<std::string> members;  ///< member names; member i has node id i + 1
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
void check_identity(const std::string& dir, const ClusterIdentity& want);

}  // namespace pw::consensus
