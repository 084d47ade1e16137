// tests/integration/proxy_pg.h — throwaway PostgreSQL 15 instances for the
// proxy's integration tests: initdb (trust auth), optional TLS with a
// self-signed certificate made by the openssl CLI, a streaming replica via
// pg_basebackup -R, pg_ctl start/stop, and psql runs. Header-only so the
// test support library stays free of module code. Each instance stops its
// postmaster (immediate mode) in its destructor; the directory belongs to a
// TempDir owned by the test.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pw::test {

inline std::string pg_bin(const std::string& tool) {
  const char* dir = getenv("PW_PG_BIN_DIR");
  return std::string(dir && *dir ? dir : "/usr/lib/postgresql/15/bin") + "/" + tool;
}

/// Runs `cmd` through /bin/sh, captures stdout and stderr together, and
/// returns the exit status (-1 if it could not run).
inline int run_cmd(const std::string& cmd, std::string* out = nullptr) {
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  if (!f) return -1;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  int st = pclose(f);
  if (out) *out = text;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

inline void run_or_throw(const std::string& cmd) {
  std::string out;
  if (run_cmd(cmd, &out) != 0) throw std::runtime_error("command failed: " + cmd + "\n" + out);
}

inline void append_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::app);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + path);
}

class PgInstance {
 public:
  /// `dir` must not exist yet (its parent is the test's TempDir).
  PgInstance(std::string dir, std::string host, uint16_t port = 5432)
      : dir_(std::move(dir)), host_(std::move(host)), port_(port) {}
  ~PgInstance() { stop(); }
  PgInstance(const PgInstance&) = delete;
  PgInstance& operator=(const PgInstance&) = delete;

  /// initdb with trust authentication for loopback clients and replication.
  void initdb(bool ssl = false) {
    run_or_throw(pg_bin("initdb") + " -D " + dir_ + " -A trust -U postgres --no-sync");
    append_file(dir_ + "/pg_hba.conf",
                "host all all 127.0.0.0/8 trust\nhost replication all 127.0.0.0/8 trust\n");
    configure();
    if (ssl) {
      run_or_throw("openssl req -new -x509 -days 2 -nodes -subj /CN=pgwarden-test -newkey rsa:2048 -keyout " +
                   dir_ + "/server.key -out " + dir_ + "/server.crt");
      run_or_throw("chmod 600 " + dir_ + "/server.key");
      append_file(dir_ + "/postgresql.conf", "ssl = on\n");
    }
  }

  /// A streaming replica of `primary` (pg_basebackup -R), not started.
  void clone_from(const PgInstance& primary) {
    run_or_throw(pg_bin("pg_basebackup") + " -h " + primary.host_ + " -p " + std::to_string(primary.port_) +
                 " -U postgres -D " + dir_ + " -R -X stream -c fast");
    configure();
  }

  void start() {
    std::string out;
    if (run_cmd(pg_bin("pg_ctl") + " -D " + dir_ + " -l " + dir_ + ".log -w -t 60 start", &out) != 0) {
      std::string log;
      run_cmd("tail -n 20 " + dir_ + ".log", &log);
      throw std::runtime_error("pg_ctl start failed for " + dir_ + ": " + out + "\n" + log);
    }
    running_ = true;
  }
  void stop() {
    if (!running_) return;
    run_cmd(pg_bin("pg_ctl") + " -D " + dir_ + " -m immediate -w stop");
    running_ = false;
  }

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  /// A libpq connection string to this instance.
  std::string conninfo(const std::string& extra = "") const {
    return "host=" + host_ + " port=" + std::to_string(port_) + " user=postgres dbname=postgres " + extra;
  }

 private:
  void configure() {
    // The socket lives outside the data directory: pg_basebackup would copy
    // its lock file into the replica.
    run_or_throw("mkdir -p " + dir_ + ".sock");
    append_file(dir_ + "/postgresql.conf",
                "listen_addresses = '" + host_ + "'\nport = " + std::to_string(port_) +
                    "\nunix_socket_directories = '" + dir_ + ".sock'\nmax_connections = 50\n"
                    "shared_buffers = 32MB\nfsync = off\nwal_level = replica\nmax_wal_senders = 5\n");
  }

  std::string dir_, host_;
  uint16_t port_;
  bool running_ = false;
};

/// psql -X -A -t -c `sql` against `conninfo`; returns the exit status and
/// puts stdout+stderr into *out (trailing newline removed).
inline int psql(const std::string& conninfo, const std::string& sql, std::string* out) {
  int rc = run_cmd(pg_bin("psql") + " \"" + conninfo + "\" -X -A -t -v ON_ERROR_STOP=1 -c \"" + sql + "\"", out);
  while (!out->empty() && (out->back() == '\n' || out->back() == '\r')) out->pop_back();
  return rc;
}

}  // namespace pw::test
