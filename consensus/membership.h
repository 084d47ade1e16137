// consensus/membership.h — who is in the cluster: the voters and learners of
// one Raft configuration, as carried by EntryType::config log entries and by
// snapshots. The committed configuration is the truth; `[cluster] members`
// in a node's INI is only the seed a brand-new cluster starts from.
//
// Changes are single-server (Raft dissertation §4.1): a new configuration
// may differ from the one before it by at most one voter (added, removed,
// or a learner promoted / a voter demoted), plus any number of learner
// additions and removals, which never affect a quorum. Any two successive
// configurations then share a majority, so two leaders of one term can
// never exist across a change. A configuration takes effect on a node as
// soon as its entry is in the node's log (committed or not), and the leader
// allows one uncommitted change at a time.
//
// Ids are never reused: `next_id` is one above every id ever given, so an
// id below it that is not a member was removed, and a removed node that
// comes back (or a stale copy of its disk) is recognised and refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pw::consensus {

struct MemberInfo {
  uint64_t id = 0;
  std::string name;
  std::string host;  ///< raft address
  uint16_t port = 0;
  bool voter = true;  ///< false: a learner (replicated to, never counted in a quorum)
  /// A learner by choice (e.g. a DR replica): never promoted automatically.
  bool stay_learner = false;

  bool operator==(const MemberInfo&) const = default;
};

struct Membership {
  /// Log index of the config entry that set it; 0 = the seed list (no
  /// change was ever made). Every node that has the same log agrees on it.
  uint64_t epoch = 0;
  uint64_t next_id = 1;
  std::vector<MemberInfo> members;  ///< sorted by id

  bool operator==(const Membership&) const = default;
  const MemberInfo* find(uint64_t id) const;
  const MemberInfo* find_name(std::string_view name) const;
  bool contains(uint64_t id) const { return find(id) != nullptr; }
  bool is_voter(uint64_t id) const;
  /// A member id that was given once and is no longer a member.
  bool removed(uint64_t id) const { return id != 0 && id < next_id && !contains(id); }
  std::vector<uint64_t> voters() const;
  size_t voter_count() const;
  /// "n1(1) n2(2) n4(4,learner)" — for logs and errors.
  std::string describe() const;
};

/// The seed configuration: every listed member a voter, ids as given.
Membership seed_membership(std::vector<MemberInfo> members);

/// Entry / snapshot payload: "PWM1" u64 epoch, u64 next_id, u32 n, n x {u64 id,
/// str name, str host, u16 port, u8 flags: bit 0 voter, bit 1 stay_learner}. In a log entry the epoch is the
/// entry's own index.
std::string encode_membership(const Membership& m);
/// Total: any bytes give a membership or an error text (nullopt).
std::optional<Membership> decode_membership(std::string_view data, std::string* error);

/// Why `to` cannot follow `from` ("" if it can): more than one voter
/// changed, no voter left, an id reused, duplicate ids or names, next_id
/// going back, an id at or above next_id.
std::string check_change(const Membership& from, const Membership& to);

}  // namespace pw::consensus
