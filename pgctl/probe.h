// pgctl/probe.h — what the running server says about itself, gathered over
// one non-blocking connection on the unix socket (see sql_task.h): recovery
// state, timeline, LSNs, WAL receiver, connected standbys, physical slots.
// A probe that hangs is ended by its deadline and reports running = false.
#pragma once

#include <functional>

#include "pgctl/postgres.h"
#include "pgctl/sql_task.h"

namespace pw::pgctl {

/// Starts a probe; `cb` runs once on the loop.
void start_probe(TaskSet& tasks, const PqConn::Params& params, int64_t timeout_ms,
                 std::function<void(const Status&)> cb);

}  // namespace pw::pgctl
