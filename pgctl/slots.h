// pgctl/slots.h — the physical replication slots of the other members, kept
// on the primary by its agent so a standby that falls behind or restarts
// never finds its WAL removed. Slot names derive from member names.
#pragma once

#include <string>
#include <vector>

#include "pgctl/result.h"
#include "pgctl/sql_task.h"

namespace pw::pgctl {

/// PostgreSQL slot names allow [a-z0-9_] and at most 63 bytes: lowercase,
/// every other character becomes '_' ("db-postgres-01" → "db_postgres_01").
std::string sanitize_slot_name(const std::string& member);

/// Makes the set of physical slots exactly `names`: creates the missing ones
/// (reserving WAL immediately) and drops the others — except slots in use,
/// which PostgreSQL cannot drop: those are left and logged, and the next
/// sync retries.
void start_sync_slots(TaskSet& tasks, const PqConn::Params& params, int64_t timeout_ms,
                      std::vector<std::string> names, Done cb);

}  // namespace pw::pgctl
