// tests/integration/proxy_it_util.h — small helpers shared by the proxy's
// integration tests: waiting for a condition, raw client sockets, libpq
// one-liners, and the process's resident set size.
#pragma once

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "base/clock.h"

namespace pw::test {

/// Waits for `cond` with a generous deadline (tests never assert timings).
inline bool wait_until(const std::function<bool()>& cond, int64_t ms = 60000) {
  int64_t end = pw::mono_ms() + ms;
  while (pw::mono_ms() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

/// A blocking TCP connection to ip:port (20 s receive timeout), -1 on failure.
inline int raw_connect(const char* ip, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

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
