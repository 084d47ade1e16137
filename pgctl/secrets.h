// pgctl/secrets.h — the replication password: read from the configured file,
// handed to libpq only through a pgpass file (mode 0600) that pgctl writes,
// never on a command line, in an environment variable, or in a log line.
#pragma once

#include <string>

namespace pw::pgctl {

/// Reads the password file: the first line, without its line ending. Fails
/// (without echoing any content) if the file is unreadable, empty, or
/// readable by group/others. `what` names the file in errors.
bool read_password_file(const std::string& path, std::string* password, std::string* error,
                        const std::string& what = "replication password file");

/// Writes `passfile` (mode 0600) with one entry for `user`.
bool write_passfile(const std::string& passfile, const std::string& user,
                    const std::string& password, std::string* error);

}  // namespace pw::pgctl
