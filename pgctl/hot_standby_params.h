// pgctl/hot_standby_params.h — the settings a hot standby must run with at
// least as high as its primary (PostgreSQL's CheckRequiredParameterValues).
//
// Why pgwarden cares: a standby that replays a primary's PARAMETER_CHANGE
// record carrying a higher value pauses replay, and a promotion of it then
// fails with "recovery aborted because of insufficient parameter settings"
// (PostgreSQL dies). pgwarden sizes max_wal_senders from the member count,
// so a node started after the cluster grew runs a higher value than the
// older standbys; once it became primary, every other standby stopped
// replaying and the next failover crashed each candidate in turn (found by
// ha_membership in CI). The record also updates the standby's pg_control,
// so the values the primary runs with are known locally: a standby whose
// running settings fall short restarts with pg_control's values as floors.
#pragma once

#include <array>
#include <string>

namespace pw::pgctl {

struct HotStandbyParams {
  int max_connections = 0;
  int max_worker_processes = 0;
  int max_wal_senders = 0;
  int max_prepared_transactions = 0;
  int max_locks_per_transaction = 0;

  /// PostgreSQL's names and the values, in PostgreSQL's order.
  std::array<std::pair<const char*, int>, 5> items() const {
    return {{{"max_connections", max_connections},
             {"max_worker_processes", max_worker_processes},
             {"max_wal_senders", max_wal_senders},
             {"max_prepared_transactions", max_prepared_transactions},
             {"max_locks_per_transaction", max_locks_per_transaction}}};
  }
};

/// "" when every running value is at least the primary's (as recorded in
/// pg_control); otherwise the short ones, e.g. "max_wal_senders 10 < 14".
/// A value of 0 (unknown) is never short and never a floor.
std::string hot_standby_shortfall(const HotStandbyParams& running, const HotStandbyParams& primary);

/// PostgreSQL's built-in defaults, for settings a configuration leaves unset.
HotStandbyParams postgres_defaults();

}  // namespace pw::pgctl
