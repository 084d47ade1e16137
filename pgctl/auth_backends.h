// pgctl/auth_backends.h — counts a postmaster's backends that are still
// authenticating. PostgreSQL 15 lists a backend in pg_stat_activity only
// once authentication is over, so a planned shutdown that waits for client
// sessions there (wait_for_clients) did not see a client the proxy had just
// sent: the fast shutdown then ended its login with "canceling
// authentication due to timeout" (ha_switchover, a write failed). The
// process title says it: "postgres: <user> <db> <host>(<port>) authentication"
// (update_process_title, on by default; off, nothing is counted).
#pragma once

#include <sys/types.h>

namespace pw::pgctl {

/// Children of `postmaster` whose title ends in " authentication", read
/// from /proc (Linux); 0 when /proc cannot be read.
int count_authenticating_backends(pid_t postmaster);

/// The title test alone: `cmdline` as /proc/<pid>/cmdline holds it.
bool title_is_authenticating(const char* cmdline, size_t len);

}  // namespace pw::pgctl
