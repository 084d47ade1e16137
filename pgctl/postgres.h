// pgctl/postgres.h — asynchronous control of the local PostgreSQL instance
// (DESIGN §1, I2, I6). Every operation runs child processes or non-blocking
// libpq on the caller's event_base and reports through a callback; none
// blocks the loop. One operation at a time is the caller's responsibility
// (the agent serializes them); probes may run alongside.
//
// This header is the contract node/ programs against.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pgctl/data_dir.h"
#include "pgctl/hot_standby_params.h"
#include "pgctl/result.h"

struct event_base;

namespace pw::pgctl {

struct PgOptions {
  std::string bin_dir;           // e.g. /usr/lib/postgresql/15/bin
  std::string data_dir;
  std::string listen_address;    // listen_addresses
  uint16_t port = 15432;
  std::string socket_dir;        // unix_socket_directories; probes connect here
  std::string superuser = "postgres";  // OS user = superuser, peer auth on the socket
  std::string replication_user = "replicator";
  std::string replication_password_file;  // never on a command line or in logs
  std::string passfile;          // pgpass written by pgctl (under socket_dir/state)
  std::string node_name;         // application_name; slot name derived from it
  std::vector<std::string> member_addresses;  // pg_hba: replication + proxies
  /// Extra pg_hba rules ([postgresql] hba_extra / hba_file, validated by
  /// conf/), written below pgwarden's block at every start.
  std::vector<std::string> hba_extra;
  /// Optional: the superuser's password, for ensure_superuser_password().
  std::string superuser_password_file;  // never on a command line or in logs
  std::vector<std::string> initdb_args;
  std::map<std::string, std::string> parameters;  // [postgresql.parameters]
  std::string synchronous_standby_names;
  int64_t op_timeout_ms = 600000;   // initdb/basebackup/rewind
  int64_t probe_timeout_ms = 2000;

  // Extensions beyond the lead's first contract.
  int64_t stop_timeout_ms = 60000;  // per escalation step: fast → immediate → SIGKILL
  /// A postmaster already running on data_dir that pgwarden did not start:
  /// adopt it (watch, probe, stop it; it has no PDEATHSIG until restarted)
  /// or refuse to start with a message saying how to stop it.
  bool adopt_running = false;
  /// The cluster's committed system id (0 = not known yet): a data
  /// directory of another cluster is then reported unusable/foreign (I6).
  uint64_t expected_system_id = 0;
};

/// What a probe saw on the running server.
struct Status {
  bool running = false;          // accepting connections
  bool in_recovery = false;
  uint32_t timeline = 0;
  uint64_t current_lsn = 0;      // primary: pg_current_wal_lsn
  uint64_t receive_lsn = 0;      // standby: last received
  uint64_t replay_lsn = 0;       // standby: last replayed
  bool wal_receiver_streaming = false;
  std::string upstream_host;     // standby: host it streams from
  struct Standby {
    std::string application_name, client_addr, state, sync_state;
    uint64_t replay_lsn = 0;
    uint64_t lag_bytes = 0;      // current_lsn - replay_lsn (extension)
  };
  std::vector<Standby> standbys; // primary: pg_stat_replication
  std::string error;             // set when running == false

  // Extensions.
  uint16_t upstream_port = 0;    // standby: port it streams from
  std::string wal_receiver_status;  // standby: pg_stat_wal_receiver.status ("" = none)
  struct Slot {
    std::string name;
    bool active = false;
    uint64_t restart_lsn = 0;
  };
  std::vector<Slot> slots;       // physical replication slots on this server
  uint32_t server_version = 0;   // server_version_num, e.g. 150004
  HotStandbyParams settings;     // the running values of the hot-standby settings
  /// Standby: running settings below the primary's (pg_control), e.g.
  /// "max_wal_senders 10 < 14": replay pauses there and a promotion would
  /// fail; only a restart (which raises them) helps. "" = fine.
  std::string settings_below_primary;
  /// Parameters whose changed value waits for a restart
  /// (pg_settings.pending_restart), sorted; empty when none.
  std::vector<std::string> pending_restart;
};

/// Progress of the last (or current) clone or rewind, for the API/logs.
struct CloneProgress {
  bool active = false;
  std::string tool;              // "pg_basebackup", "pg_rewind", "" = none yet
  uint64_t done_kb = 0, total_kb = 0;  // pg_basebackup --progress
  std::string last_line;         // the tool's last output line
  int64_t started_ms = 0, finished_ms = 0;  // pw::mono_ms()
  std::string error;             // set when the last run failed
  std::string moved_aside_to;    // where the previous data directory went, if anywhere
};

enum class Role { primary, standby };
enum class StopMode { fast, immediate };

/// The running postmaster as an in-place restart of the daemon passes it
/// on (node/reexec.h): the process stays, the daemon's image changes.
struct PostmasterHandle {
  pid_t pid = 0;        // 0: none running
  int output_fd = -1;   // read end of its stdout/stderr pipe (child only)
  bool child = false;   // started by us (else adopted: not our child)
};

/// Connection target of a primary to stream/clone/rewind from.
struct Upstream {
  std::string host;
  uint16_t port = 0;
};

class Postgres {
 public:
  static std::unique_ptr<Postgres> create(event_base* base, const PgOptions& opts);
  virtual ~Postgres() = default;

  /// Synchronous, cheap: reads the data directory (pg_control) without
  /// starting anything. Safe to call on the loop. See data_dir.h.
  virtual DataDirInfo inspect() = 0;

  /// initdb into an empty (or missing) data directory; refused otherwise.
  virtual void initdb(Done cb) = 0;
  /// Starts the postmaster as a child with PR_SET_PDEATHSIG. As a standby it
  /// writes standby.signal + primary_conninfo/slot for `upstream` (may be
  /// empty: a standby with no upstream yet). Calls back once it accepts
  /// connections (or failed / timed out). Every start rewrites the managed
  /// files (docs/postgres.md). Role::primary on a directory that was a
  /// standby starts it as a standby and promotes it (new timeline, with no
  /// floor: PostgreSQL's own choice — the agent never relies on it, it
  /// starts such a directory as a standby and calls promote(min_timeline)).
  /// Every start as a standby first removes the timeline placeholders a
  /// promotion that did not happen left behind (timeline_files.h). A live
  /// postmaster not started by us is adopted (adopt_running) or refused.
  virtual void start(Role role, const Upstream& upstream, Done cb) = 0;
  /// fast: SIGINT; immediate: SIGQUIT; each escalates after stop_timeout_ms
  /// (fast → immediate → SIGKILL of the group). Success once it is gone; a
  /// postmaster not started by us is stopped too. Not running: success.
  virtual void stop(StopMode mode, Done cb) = 0;
  /// Promotes a running standby onto a timeline >= `min_timeline` (0 or 1:
  /// no floor), so that it never reuses a timeline id the cluster handed
  /// out before: writes a placeholder `<n>.history` into pg_wal for each id
  /// above its own timeline and below `min_timeline` that has no history
  /// file (PostgreSQL takes newest existing + 1; timeline_files.h says why
  /// placeholders are safe), then pg_promote. Success once it accepts
  /// writes, with Result::timeline = the timeline it writes on; a failure
  /// if that is below `min_timeline` (it cannot be, unless pg_wal was
  /// tampered with meanwhile: the caller must not announce such a primary).
  /// A primary already: success with its timeline, under the same check.
  /// A CHECKPOINT follows in the background (pg_rewind needs it).
  virtual void promote(uint32_t min_timeline, Done cb) = 0;
  /// Waits until no client backend (other than its own) is connected — but
  /// at least `min_ms` and at most `max_ms` — polling every 10 ms: a planned
  /// shutdown lets statements in flight finish instead of sleeping a fixed
  /// time. Always succeeds (sessions still there at the deadline, or an
  /// error, are only logged).
  virtual void wait_for_clients(int64_t min_ms, int64_t max_ms, Done cb) = 0;
  /// Points a running standby at a new upstream: reload on PG >= 13 (waits
  /// until the server reports the new primary_conninfo), restart on 12; a
  /// running primary is demoted. Not running: the config is written for
  /// the next start.
  virtual void follow(const Upstream& upstream, Done cb) = 0;
  /// Synchronous, cheap (one small file): the LSN where the history of
  /// timeline `tli`, as this server's pg_wal holds it, left `ancestor`
  /// (timeline_files.h, read_switchpoint); nullopt when the file is not
  /// there (yet) or does not list `ancestor`. A standby replayed past that
  /// point cannot follow a primary on `tli` without a rewind.
  virtual std::optional<uint64_t> switchpoint(uint32_t tli, uint32_t ancestor) {
    (void)tli;
    (void)ancestor;
    return std::nullopt;
  }
  /// Clones from `upstream` into the (moved-aside-if-needed) data directory,
  /// using this member's slot (created beforehand by the primary's
  /// sync_slots). PostgreSQL must be stopped; it is left stopped (then
  /// start(standby, upstream)). On failure the directory is moved aside.
  virtual void basebackup(const Upstream& upstream, Done cb) = 0;
  /// pg_rewind from `upstream` (stops PostgreSQL first, finishes crash
  /// recovery if needed, waits for the source's post-promotion checkpoint).
  /// Left stopped (then start(standby, upstream)). If pg_rewind fails the
  /// directory is moved aside (the caller clones); if the source is
  /// unreachable it is left in place.
  virtual void rewind(const Upstream& upstream, Done cb) = 0;
  /// Renames the data directory to <data_dir>.moved-<timestamp>; returns the
  /// new path or an error. Never deletes.
  virtual Result move_aside(std::string* new_path) = 0;
  /// Stops the server (fast, escalating) and starts it again as a standby of
  /// `upstream` (may be empty).
  virtual void demote(const Upstream& upstream, Done cb) = 0;

  /// Primary only: creates the replication role (password from file) if
  /// absent, else resets its password/attributes; grants what pg_rewind
  /// needs. The password never appears in SQL text or logs.
  virtual void ensure_replication_role(Done cb) = 0;
  /// Primary only: sets the superuser's password from
  /// superuser_password_file (nothing to do, success, when none is
  /// configured; the password is left as it is then). Same technique as
  /// ensure_replication_role: a SCRAM verifier computed client-side, sent
  /// with statement logging off; the password never appears in SQL text or
  /// logs. Call it on the primary after bootstrap and after every start as
  /// primary (the file may have changed).
  virtual void ensure_superuser_password(Done cb) = 0;
  /// Runs the SQL file at `path` once with psql (-X, ON_ERROR_STOP, one
  /// statement at a time, so CREATE DATABASE works) as the superuser over
  /// the unix socket; its output is logged. Empty path: success.
  virtual void run_sql_file(const std::string& path, Done cb) = 0;
  /// Primary only: makes the set of physical slots exactly `slot_names`
  /// (slots in use are not dropped; retried at the next call).
  virtual void sync_slots(const std::vector<std::string>& slot_names, Done cb) = 0;
  /// Rewrites pgwarden.conf and reloads; success once the server reports the
  /// value. Not running: remembered for the next start.
  virtual void set_synchronous_standby_names(const std::string& value, Done cb) = 0;
  /// The members' addresses changed (a membership change): rewrites
  /// pg_hba's managed block and reloads a running server; a stopped one
  /// gets it at its next start. The default (test doubles) only succeeds.
  virtual void set_member_addresses(const std::vector<std::string>& addresses, Done cb) {
    (void)addresses;
    cb(Result::success());
  }

  /// pg_reload_conf() on the running server (`ctl reload`): success once
  /// the server accepted the signal. Not running: failure. The default
  /// (test doubles) only succeeds.
  virtual void reload(Done cb) { cb(Result::success()); }

  /// One probe over the unix socket (probe_timeout_ms bounds it); may run
  /// alongside an operation.
  virtual void probe(std::function<void(const Status&)> cb) = 0;

  /// Pid of the postmaster we started or adopted (0 = not running / unknown).
  virtual pid_t postmaster_pid() const = 0;
  /// True when the running postmaster was adopted (started outside pgwarden:
  /// no PDEATHSIG; restart it to restore I2).
  virtual bool adopted() const = 0;
  /// Sets the committed system id used by inspect() (see PgOptions).
  virtual void set_expected_system_id(uint64_t id) = 0;
  /// Progress of the last/current basebackup or rewind.
  virtual CloneProgress clone_progress() const = 0;
  /// Major version of the binaries in bin_dir (0 if unknown).
  virtual uint32_t bin_major_version() const = 0;
  /// Called when the postmaster exits on its own (crash, kill).
  virtual void set_exit_handler(std::function<void(int status)> h) = 0;
  /// In-place restart of the daemon: the postmaster to pass on, pid 0 when
  /// none runs. The default (test doubles) has none.
  virtual PostmasterHandle postmaster_handle() const { return {}; }
  /// In the new image, before any operation: takes over the postmaster the
  /// previous image passed on; its exit is then reported as usual.
  virtual void inherit_postmaster(const PostmasterHandle& h) { (void)h; }
  /// Slot name for a member (sanitized for PostgreSQL's slot-name rules).
  static std::string slot_name(const std::string& member);
};

}  // namespace pw::pgctl
