// pgctl/initdb.h — the initdb command line pgwarden uses: data checksums
// (pg_rewind needs checksums or wal_log_hints; we also set the latter), peer
// authentication on the unix socket, SCRAM for TCP, the configured
// superuser, then the operator's extra arguments (which may override ours).
#pragma once

#include <string>
#include <vector>

#include "pgctl/postgres.h"

namespace pw::pgctl {

std::vector<std::string> initdb_argv(const PgOptions& o);

}  // namespace pw::pgctl
