// pgctl/roles.h — the replication role (and the superuser's password) on
// the primary. The replication role is created (or its
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

/// Sets the password of `user` (the superuser pgctl connects as, which
/// exists since initdb) the same way: a client-side SCRAM verifier in an
/// ALTER ROLE sent with statement and error-statement logging off. Only
/// the password changes; the role's attributes are left alone.
void start_ensure_superuser_password(TaskSet& tasks, const PqConn::Params& params,
                                     int64_t timeout_ms, const std::string& user,
                                     std::string password, Done cb);

}  // namespace pw::pgctl
