// pgctl/data_dir.h — what is in a PostgreSQL data directory, found by reading
// files only (PG_VERSION, global/pg_control, standby.signal, postmaster.pid):
// synchronous, cheap, safe on the event loop. The agent reports the result
// to its peers (DESIGN §5) and decides: initdb, adopt, clone, or move aside.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "pgctl/hot_standby_params.h"

namespace pw::pgctl {

/// What is in the data directory.
struct DataDirInfo {
  enum class Kind { empty, cluster, unusable } kind = Kind::empty;
  std::string reason;            // unusable: why (and what to do)
  uint64_t system_id = 0;
  uint32_t timeline = 0;
  uint64_t checkpoint_lsn = 0;
  bool was_standby = false;      // standby.signal present / in archive recovery
  bool clean_shutdown = false;
  uint32_t major_version = 0;

  // Extensions beyond the lead's contract.
  bool foreign = false;          // unusable because system_id != the expected one (I6)
  uint64_t min_recovery_lsn = 0; // standby: replayed at least up to here
  std::string state;             // pg_control's cluster state, in words
  pid_t running_pid = 0;         // a live postmaster owns the directory (postmaster.pid)
  HotStandbyParams params;       // pg_control's record of the (primary's) settings

  /// Best known end of the local WAL history: the later of the checkpoint
  /// and the minimum recovery point (a standby's checkpoint lags its replay).
  uint64_t lsn() const { return std::max(checkpoint_lsn, min_recovery_lsn); }
};

const char* kind_name(DataDirInfo::Kind k);
/// One log-friendly line: "cluster system_id=... timeline=1 lsn=0/3000028 ...".
std::string describe(const DataDirInfo& info);

struct InspectOptions {
  uint32_t expected_major = 0;       // major version of bin_dir; 0 = don't check
  uint64_t expected_system_id = 0;   // the cluster's committed system id; 0 = unknown
  bool check_owner = true;           // the directory must belong to our effective uid
};

/// Classifies `data_dir`:
///  * empty — missing, or a directory with no entries;
///  * cluster — a PostgreSQL data directory we can use;
///  * unusable — anything else, with `reason` saying why and what to do:
///    not a data directory, unreadable or corrupt pg_control, a major
///    version other than bin_dir's, wrong owner, permissions other than
///    0700/0750, or (foreign = true) a system id other than the expected one.
DataDirInfo inspect_data_dir(const std::string& data_dir, const InspectOptions& opts);

/// Major version from PG_VERSION ("15" → 15, "9.6" → 9); 0 if unreadable.
uint32_t read_pg_version(const std::string& data_dir);

}  // namespace pw::pgctl
