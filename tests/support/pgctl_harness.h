// tests/support/pgctl_harness.h — helpers for pgctl's integration tests
// (header-only: pw_test_support links only base). An event loop (turned by
// run_until, event_wait.h), operations waited for, SQL on a running server,
// per-node options under a TempDir, and a reaper that kills any process still
// working inside the test's directory when the test ends — also on failure.
#pragma once

#include <dirent.h>
#include <event2/event.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "pgctl/postgres.h"
#include "pgctl/pq_conn.h"
#include "support/event_wait.h"
#include "support/tmpdir.h"

namespace pw::test {

struct Loop {
  event_base* base = event_base_new();
  Loop() = default;
  ~Loop() { event_base_free(base); }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;
};

/// Starts `op` and waits for its Done callback.
inline pgctl::Result wait_op(event_base* base, const std::function<void(pgctl::Done)>& op,
                             int64_t timeout_ms = 300000) {
  auto r = std::make_shared<std::optional<pgctl::Result>>();
  op([r](const pgctl::Result& x) { *r = x; });
  if (!run_until(
          base, [r] { return r->has_value(); }, timeout_ms))
    return pgctl::Result::failure("test: operation did not finish in time");
  return **r;
}

inline pgctl::Status wait_probe(event_base* base, pgctl::Postgres& pg) {
  auto s = std::make_shared<std::optional<pgctl::Status>>();
  pg.probe([s](const pgctl::Status& st) { *s = st; });
  if (!run_until(
          base, [s] { return s->has_value(); }, 60000)) {
    pgctl::Status st;
    st.error = "test: probe did not finish";
    return st;
  }
  return **s;
}

/// Probes until `pred(status)` holds; returns the last status.
inline pgctl::Status probe_until(event_base* base, pgctl::Postgres& pg,
                                 const std::function<bool(const pgctl::Status&)>& pred,
                                 int64_t timeout_ms = 60000) {
  int64_t deadline = mono_ms() + timeout_ms;
  pgctl::Status st;
  for (;;) {
    st = wait_probe(base, pg);
    if (pred(st) || mono_ms() >= deadline) return st;
    run_until(
        base, [] { return false; }, 200);
  }
}

/// One statement over a fresh non-blocking connection.
inline pgctl::QueryResult sql(event_base* base, const pgctl::PqConn::Params& params,
                              const std::string& q, int64_t timeout_ms = 60000) {
  auto conn = std::make_shared<pgctl::PqConn>(base, params, timeout_ms);
  auto out = std::make_shared<std::optional<pgctl::QueryResult>>();
  pgctl::PqConn* raw = conn.get();
  conn->connect([raw, out, q](const std::string& err) {
    if (!err.empty()) {
      pgctl::QueryResult r;
      r.error = "connect: " + err;
      *out = r;
      return;
    }
    raw->query(q, {}, [out](const pgctl::QueryResult& r) { *out = r; });
  });
  if (!run_until(
          base, [out] { return out->has_value(); }, timeout_ms + 1000)) {
    pgctl::QueryResult r;
    r.error = "test: query did not finish";
    return r;
  }
  return **out;
}

inline std::string current_user() {
  struct passwd* pw = getpwuid(geteuid());
  return pw ? pw->pw_name : "postgres";
}

inline std::string pg_bin_dir() {
  const char* e = getenv("PW_PG_BIN_DIR");
  return e && *e ? e : "/usr/lib/postgresql/15/bin";
}

inline void write_text(const std::string& path, const std::string& text, mode_t mode = 0600) {
  {
    std::ofstream f(path, std::ios::trunc);
    f << text;
  }
  chmod(path.c_str(), mode);
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

/// The replication password the tests use: with characters that need
/// escaping in a pgpass file, and distinctive enough to grep logs for.
inline const char* test_password() {
  return "Rep:l1c4\\tion-Secret-7f3a9";
}

/// Options for node `name` listening on `addr`:15432, everything under `root`.
inline pgctl::PgOptions node_options(const std::string& root, const std::string& name,
                                     const std::string& addr,
                                     std::vector<std::string> member_addrs) {
  std::string dir = root + "/" + name;
  mkdir(dir.c_str(), 0700);
  mkdir((dir + "/sock").c_str(), 0700);
  std::string pwfile = root + "/replication.pass";
  if (access(pwfile.c_str(), F_OK) != 0) write_text(pwfile, std::string(test_password()) + "\n");
  pgctl::PgOptions o;
  o.bin_dir = pg_bin_dir();
  o.data_dir = dir + "/data";
  o.listen_address = addr;
  o.port = 15432;
  o.socket_dir = dir + "/sock";
  o.superuser = current_user();
  o.replication_password_file = pwfile;
  o.node_name = name;
  // On loopback every connection comes from 127.0.0.1 whatever address it
  // targets, so the tests' members include it.
  member_addrs.push_back("127.0.0.1");
  o.member_addresses = member_addrs;
  o.parameters = {{"shared_buffers", "16MB"}, {"max_connections", "30"}};
  o.op_timeout_ms = 300000;
  o.probe_timeout_ms = 5000;
  o.stop_timeout_ms = 30000;
  return o;
}

inline pgctl::PqConn::Params local(const pgctl::PgOptions& o) {
  return pgctl::local_params(o.socket_dir, o.port, o.superuser, 30000, "pgctl-test");
}

/// Pids of our processes whose working directory is under `root` (a
/// postmaster and its backends chdir into their data directory).
inline std::vector<pid_t> processes_under(const std::string& root) {
  std::vector<pid_t> out;
  char real_root[PATH_MAX];
  if (!realpath(root.c_str(), real_root)) return out;
  std::string prefix = std::string(real_root) + "/";
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char* end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end || pid <= 0 || pid == getpid()) continue;
    char cwd[PATH_MAX];
    std::string link = std::string("/proc/") + e->d_name + "/cwd";
    ssize_t n = readlink(link.c_str(), cwd, sizeof cwd - 1);
    if (n <= 0) continue;
    cwd[n] = 0;
    std::string c = std::string(cwd) + "/";
    if (c.rfind(prefix, 0) != 0) continue;
    // Zombies keep no cwd link, so anything found here is really running.
    out.push_back(static_cast<pid_t>(pid));
  }
  closedir(d);
  return out;
}

/// Declared right after the TempDir: at destruction it SIGKILLs every
/// process still working under the directory, so no postgres outlives a
/// test, even one that failed half-way.
class ProcessReaper {
 public:
  explicit ProcessReaper(std::string root) : root_(std::move(root)) {}
  ~ProcessReaper() {
    int64_t deadline = mono_ms() + 15000;
    for (;;) {
      auto pids = processes_under(root_);
      if (pids.empty() || mono_ms() > deadline) break;
      for (pid_t p : pids) kill(p, SIGKILL);
      usleep(50 * 1000);
    }
  }

 private:
  std::string root_;
};

}  // namespace pw::test
