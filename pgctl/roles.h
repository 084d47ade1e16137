// pgctl/roles.h — the replication role on the primary: created (or its
// password and attributes brought back in line) with a SCRAM verifier
// computed client-side by PQencryptPasswordConn, so neither the statement
// text nor the server log ever holds the password itself; the session also
// turns statement logging off before sending it. The role is granted the
// functions pg_rewind needs on a source server, so the same credentials
// serve replication, cloning and rewinding.
#pragma once

#include <string>

#include "pgctl/result.h"
#include "pgctl/sql_task.h"

namespace pw::pgctl {

void start_ensure_replication_role(TaskSet& tasks, const PqConn::Params& params, int64_t timeout_ms,
                                   const std::string& user, std::string password, Done cb);

}  // namespace pw::pgctl
