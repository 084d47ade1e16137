// pgctl/pidfile.h — reading postmaster.pid, the file a running postmaster
// keeps in its data directory, to detect a server started outside pgwarden
// (or left behind by a previous incarnation) and to follow startup status.
#pragma once

#include <sys/types.h>

#include <string>

namespace pw::pgctl {

struct PostmasterPid {
  pid_t pid = 0;
  std::string data_dir;
  int64_t start_time = 0;
  int port = 0;
  std::string socket_dir;
  std::string listen_address;
  std::string status;  // "starting", "ready", "standby", "stopping" (PG ≥ 10), "" if absent
};

/// Parses the text of a postmaster.pid; false if the first line is not a pid.
bool parse_postmaster_pid(const std::string& text, PostmasterPid* out);
/// Reads <data_dir>/postmaster.pid; false if absent or malformed.
bool read_postmaster_pid(const std::string& data_dir, PostmasterPid* out);

/// The pid of a live postmaster serving `data_dir`, or 0. A postmaster.pid
/// whose process is gone, or whose pid now belongs to an unrelated process
/// (different working directory, not a postgres binary), is stale: 0.
pid_t live_postmaster(const std::string& data_dir);

}  // namespace pw::pgctl
