// api/view.h — what the API says about the cluster, derived from the
// backend's raw facts: each member's role, state and lag (one definition,
// shared by /cluster, the health endpoints, /metrics and `ctl list`), and
// the JSON bodies of /cluster, /history and /proxy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/backend.h"

namespace pw::node {

struct MemberRow {
  std::string name, host;
  /// primary | sync_standby (in the committed synchronous set) |
  /// async_standby (synchronous mode, a standby outside that set) | replica
  /// (asynchronous mode) | demoting (read-write without the lock: the agent
  /// is demoting it) | stopped | unknown (no fresh status)
  std::string role;
  /// running | streaming | promoting | stopped | unreachable (status stale) |
  /// unknown (never heard from)
  std::string state;
  bool seen = false, fresh = false;
  bool pg_running = false;
  uint32_t timeline = 0;
  uint64_t lsn = 0;
  std::optional<uint64_t> lag_bytes;  // behind the primary's gossiped LSN; primary: 0
  bool nofailover = false;
  int32_t priority = 0;
  std::string upstream, activity, data, data_reason, last_error;
  bool reinit_pending = false;
  bool removing = false;  // `member remove` marked it (ClusterState::removing) and has not ended yet
  std::string version;  // the member's pgwarden version ("" = not announced: older than 0.1.0's status v5)
  /// Parameters its PostgreSQL applies only at a restart; unknown from a
  /// member too old to report them (status format 5 or older) or not seen.
  bool pending_restart_known = false;
  std::vector<std::string> pending_restart;
  /// Its place in the committed restart plan (0 = none; 1 = its turn).
  size_t restart_turn = 0;
};

/// Rows in configuration order. Lag is known only when both the member and
/// the lock holder have fresh statuses and the member's PostgreSQL runs.
std::vector<MemberRow> member_rows(const ClusterFacts& c);
const MemberRow* find_row(const std::vector<MemberRow>& rows, const std::string& name);

const char* init_state_name(InitKind k);
/// PostgreSQL's textual LSN form, "16/B374D848".
std::string format_lsn(uint64_t lsn);
/// "2026-11-25T19:00:00.123Z" (UTC); "" for 0.
std::string format_wall_ms(int64_t wall_ms);

/// GET /cluster body (an object).
std::string cluster_json(const ClusterFacts& c, const std::vector<MemberRow>& rows);
/// GET /history body (an array, oldest first).
std::string history_json(const ClusterState& s);
/// GET /proxy body (an object).
std::string proxy_json(const proxy::Counters& c);

/// {"error": message}
std::string error_json(const std::string& message);

}  // namespace pw::node
