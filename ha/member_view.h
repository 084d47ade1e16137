// ha/member_view.h — the members' soft state as this node sees it: the
// status it gossips about itself every loop turn and the latest status
// received from each peer, with when it arrived (DESIGN §3). Everything
// that decides on a peer's status asks here whether it is fresh.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ha/decider.h"
#include "ha/member_status.h"

namespace pw::node {

class MemberView {
 public:
  /// `seq_base`: the first status is numbered seq_base + 1. Give each
  /// process a base above any number its predecessor on this host could
  /// have reached (AgentContext: wall clock in microseconds), so peers take
  /// a restarted member's statuses at once instead of dropping them as
  /// reordered duplicates until the count catches up.
  MemberView(std::string self, std::vector<std::string> members, int64_t fresh_window_ms, int64_t started_ms,
             uint64_t seq_base = 0);

  MemberStatus& own() { return own_; }
  const MemberStatus& own() const { return own_; }
  /// Stamps the next sequence number on our status and encodes it; `now`
  /// is when it was built (seen() gives that, not the time of asking, as
  /// our own status's arrival: its probe age counts from there).
  std::string next_own_message(int64_t now);

  /// A peer's status arrived at `now`. Returns false for a malformed or
  /// reordered message (logged); `acked_changed` says whether the epoch the
  /// peer's proxy routes for changed (I3 acknowledgements wake the loop).
  bool received(const std::string& from_name, const std::string& data, int64_t now, bool* acked_changed);

  /// Statuses of every member (self included), each with its freshness.
  std::map<std::string, SeenStatus> seen(int64_t now) const;
  /// Latest status of `name` if received within the freshness window.
  const MemberStatus* fresh(const std::string& name, int64_t now) const;
  /// Latest status of `name` ever received by this process, fresh or not
  /// (nullptr = never heard): for facts a member's silence does not change,
  /// such as its nofailover tag.
  const MemberStatus* last(const std::string& name) const;
  /// I3: every other member has cut the old primary (acknowledged `epoch`)
  /// or has been silent longer than `silence_ms` — its route cannot still
  /// be valid. `silent_from_ms`: silence counts from no earlier than this
  /// (the last release this node applied — the leader kept granting the
  /// old route to a member it no longer heard from until then).
  bool all_acked(uint64_t epoch, int64_t now, int64_t silence_ms, int64_t silent_from_ms = 0) const;
  /// The members changed (membership change): statuses of those no longer
  /// members are forgotten.
  void set_members(std::vector<std::string> members);
  /// When the last status from `name` arrived (0 = never).
  int64_t last_heard(const std::string& name) const;
  /// The status format our gossip uses: the oldest any member last sent
  /// us, at most ours (etcd's cluster version, for the status): a member
  /// that cannot read a newer format is sent one it reads. Members not
  /// heard yet do not count; one that is upgraded raises it again.
  uint8_t send_format() const;

 private:
  std::string self_;
  std::vector<std::string> members_;
  int64_t window_ms_;
  int64_t started_ms_;
  MemberStatus own_;
  uint64_t seq_;
  int64_t own_sent_ms_ = -1;  // when next_own_message last ran (-1 = never)
  std::map<std::string, std::pair<MemberStatus, int64_t>> peers_;  // name -> {status, received at}
};

}  // namespace pw::node
