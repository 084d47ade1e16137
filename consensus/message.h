// consensus/message.h — the plain data the Raft core exchanges with the
// outside world: log entries, hard state, snapshots and peer messages.
// No behaviour lives here; the codec (codec.h) turns these into bytes and the
// core (core.h) decides what they mean.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pw::consensus {

/// Kind of a log entry. The numeric values are part of the wire and disk
/// formats: never renumber, only append.
enum class EntryType : uint8_t {
  normal = 0,  ///< application data, handed to StateMachine::apply
  noop = 1,    ///< appended by every new leader to commit entries of older terms; never applied
  config = 2,  ///< a new cluster membership (membership.h), in effect once in the log
};

/// One replicated log entry. Indices start at 1; (index, term) identifies an
/// entry uniquely across the cluster (Raft's log matching property).
struct Entry {
  uint64_t term = 0;
  uint64_t index = 0;
  EntryType type = EntryType::normal;
  std::string data;

  bool operator==(const Entry&) const = default;
};

/// State that must be on stable storage before any message of the same
/// Ready is sent: the current term, the vote cast in that term (0 = none)
/// and the highest index known to be committed.
struct HardState {
  uint64_t term = 0;
  uint64_t vote = 0;
  uint64_t commit = 0;

  bool operator==(const HardState&) const = default;
  bool empty() const { return term == 0 && vote == 0 && commit == 0; }
};

/// The application state as of log index `index` (whose entry had `term`).
/// Everything at or below `index` is covered by `data`. index 0 = no snapshot.
struct Snapshot {
  uint64_t index = 0;
  uint64_t term = 0;
  std::string data;
  /// The membership in effect at `index` (encode_membership); empty = the
  /// seed list (no change was made up to `index`).
  std::string config;

  bool operator==(const Snapshot&) const = default;
  bool empty() const { return index == 0; }
};

/// Message types. The numeric values are part of the wire format.
enum class MsgType : uint8_t {
  app = 1,        ///< leader → follower: append entries after (index, log_term); commit
  app_resp = 2,   ///< follower → leader: accepted up to `index`, or reject (hints)
  vote = 3,       ///< candidate → all: vote for me in `term`; my last log is (index, log_term)
  vote_resp = 4,  ///< reject = vote refused
  pre_vote = 5,   ///< pre-candidate → all: would you vote for me in `term` (= my term + 1)?
  pre_vote_resp = 6,  ///< reject = would refuse
  heartbeat = 7,      ///< leader → follower: I am alive; commit = min(your match, my commit)
  heartbeat_resp = 8,
  snap = 9,        ///< leader → far-behind follower: install `snapshot`
  prop = 10,       ///< follower → leader: append `entries[0]` for me (term 0: term-less)
  prop_resp = 11,  ///< leader → follower: proposal `proposal_id` is at (index, log_term), or reject
  timeout_now = 12,      ///< leader → transfer target: start an election now, skipping pre-vote
  transfer_leader = 13,  ///< follower → leader: please hand leadership to `target` (term-less)
};
constexpr uint8_t kMaxMsgType = 13;

/// Human-readable name of a message type, for logs ("app", "vote_resp", ...).
const char* msg_type_name(MsgType t);

/// A message between two cores. Every field is carried on the wire for every
/// type (the codec is uniform); fields a type does not use are zero/empty.
///
/// Field meanings per type:
///  * app:        index/log_term = entry preceding `entries`; commit = leader commit.
///  * app_resp:   accept: index = last index now known to match the leader.
///                reject: index = the rejected `index` of the app;
///                reject_hint/log_term = fast back-off hint (the follower's
///                largest index <= the rejected one whose term <= the app's
///                log_term, and that term).
///  * vote/pre_vote: index/log_term = the candidate's last entry; transfer =
///                campaign started by leadership transfer (bypasses the
///                "I still hear from a leader" check).
///  * heartbeat:  commit = min(follower's match, leader commit).
///  * snap:       snapshot = the leader's latest snapshot (with data).
///  * prop:       entries = exactly one entry (type normal, term/index 0),
///                proposal_id = the forwarder's local proposal id.
///  * prop_resp:  proposal_id echoed; accepted: index/log_term = where the leader
///                appended it; reject=true: `reason` says why.
///  * transfer_leader: target = the node that should become leader.
struct Message {
  MsgType type = MsgType::heartbeat;
  uint64_t from = 0;
  uint64_t to = 0;
  uint64_t term =
      0;  ///< sender's term; 0 only for term-less types (prop, prop_resp, transfer_leader)
  uint64_t log_term = 0;
  uint64_t index = 0;
  uint64_t commit = 0;
  bool reject = false;
  bool transfer = false;
  uint64_t reject_hint = 0;
  uint64_t proposal_id = 0;
  uint64_t target = 0;
  std::vector<Entry> entries;
  Snapshot snapshot;
  std::string reason;

  bool operator==(const Message&) const = default;
};

}  // namespace pw::consensus
