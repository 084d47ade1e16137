// ha/member_status.h — the soft state each agent gossips to its peers
// every loop turn over the raft transport (DESIGN §3). Not in the log:
// receivers keep the latest per sender with the monotonic time it arrived,
// and everything that decides on it checks freshness first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ha/diagnostic.h"

namespace pw::node {

/// The status format this build writes (and the newest it knows field by
/// field): 2 route grant, 3 serving, 4 probe age, 5 pgwarden version, 6 route
/// index, 7 pending restart. A
/// status of a newer format is read as far as this build knows it: newer
/// formats only append fields, so members of different versions mix during
/// an upgrade (formats up to 4 refused anything newer: a member still on
/// one is sent the format it reads, MemberView::send_format).
inline constexpr uint8_t kStatusFormat = 7;

enum class DataKind : uint8_t { unknown = 0, empty = 1, cluster = 2, unusable = 3 };
const char* data_kind_name(DataKind k);

struct MemberStatus {
  std::string name;
  uint64_t seq = 0;             // sender's counter, to drop reordered duplicates
  DataKind data = DataKind::unknown;
  std::string data_reason;      // unusable: why
  uint64_t system_id = 0;
  uint32_t timeline = 0;
  uint64_t lsn = 0;             // primary: current; standby: max(receive, replay); stopped: checkpoint
  uint64_t replay_lsn = 0;
  bool pg_running = false;
  bool in_recovery = false;
  bool streaming = false;
  std::string upstream;
  bool nofailover = false;
  int32_t priority = 0;
  uint64_t acked_epoch = 0;     // the epoch this node's proxy routes for (I3)
  uint64_t final_lsn = 0;       // switchover: the old primary's shutdown LSN
  std::string agent_state;      // e.g. "streaming", "primary", "cloning"
  std::string last_error;       // last operation failure, for diagnostics
  Diagnostics decider_diags;    // sent by the raft leader: what blocks the decider,
                                // so every node's API shows it, not only the leader's
  uint64_t grant_epoch = 0;     // raft leader only: routes to this epoch's primary may be
  int64_t grant_ms = 0;         // used for grant_ms from receipt (I3; route_builder.h)
  /// The lock holder's word on its PostgreSQL: read-write and not being
  /// stopped. False while it restarts, fences or shuts down: proxies then
  /// hold new clients instead of handing them "the database system is
  /// starting up / shutting down". Unknown from a version-2 sender.
  bool serving_known = false;
  bool serving = false;
  /// How old, when sent, the probe behind lsn/timeline/pg_running was
  /// (since it started); -1: no probe yet. The decider counts a status as
  /// describing the server after the holder stopped only by this age (I4):
  /// an agent frozen between its probe and its gossip sends an old position
  /// late. 0 from a version-3 sender (its age is unknown).
  int64_t probe_age_ms = 0;
  /// The sender's pgwarden version (its build's PGWARDEN_VERSION); "" from
  /// a sender of format 4 or older (a version before 0.1.0's status v5).
  std::string version;
  /// The raft index this node had applied when it last published its
  /// proxy's route (format 6; 0 from older senders). A switchover's old
  /// primary shuts down once every member's route is past the switchover
  /// (SwitchoverController): their proxies hold new clients by then.
  uint64_t route_index = 0;
  /// The parameters the sender's running PostgreSQL waits to apply until a
  /// restart (pg_settings.pending_restart), sorted; empty when none, when
  /// PostgreSQL is not running, or from a sender of format 6 or older
  /// (pending_restart_known then false: unknown, not "none").
  bool pending_restart_known = false;
  std::vector<std::string> pending_restart;
  /// The format the status arrived in (set by decode, never sent).
  uint8_t format = 0;

  /// Writes `format` (<= kStatusFormat): the fields a reader of that format
  /// knows, nothing after them.
  std::string encode(uint8_t format = kStatusFormat) const;
  /// Total. Formats 1..kStatusFormat must end where their fields end; a
  /// newer format's trailing fields are skipped.
  static std::optional<MemberStatus> decode(const std::string& bytes);
};

}  // namespace pw::node
