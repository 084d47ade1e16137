// tests/integration/proxy_it_util.h — small helpers shared by the proxy's
// integration tests: libpq one-liners and the process's resident set size
// (waiting and raw sockets: tests/support/wait.h and proxy_sockets.h).
#pragma once

#include <libpq-fe.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace pw::test {

/// First column of the first row of `sql`, or "ERROR: ..." on failure.
inline std::string query1(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  std::string out;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
  else out = std::string("ERROR: ") + PQerrorMessage(c);
  PQclear(r);
  return out;
}

/// Runs a command that returns no rows; true on success.
inline bool exec_ok(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  PQclear(r);
  return ok;
}

/// VmRSS of this process in KiB.
inline long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

}  // namespace pw::test
