// pgctl/clone.h — making this node's data directory a copy of the primary's:
// pg_basebackup -X stream (with the member's replication slot) into an
// empty directory, or pg_rewind of a diverged old primary. Both run as
// children (PDEATHSIG = SIGKILL, timeout, output in our log), progress is
// recorded for the API, and on failure the directory is moved aside —
// renamed with a timestamp, never deleted — and the error carries the
// tool's last output lines.
//
// Neither writes the standby configuration: both copy the upstream's
// configuration files, so the caller rewrites the managed files afterwards
// (Postgres::start does, before every start).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pgctl/defer.h"
#include "pgctl/postgres.h"
#include "pgctl/pq_conn.h"

struct event_base;
struct event;

namespace pw::pgctl {

class Child;
struct ChildExit;

struct CloneSpec {
  std::string bin_dir, data_dir;
  std::string conninfo;  // upstream, without password (passfile=...)
  std::string passfile;
  std::string slot;  // pg_basebackup -S; empty: a temporary slot
  int64_t timeout_ms = 0;
  PqConn::Params source;            // rewind: a normal connection to the upstream
  int64_t source_wait_ms = 120000;  // rewind: how long to wait for its checkpoint
};

class Cloner {
 public:
  explicit Cloner(event_base* base) : base_(base) {}
  ~Cloner();
  /// Moves a non-empty data directory aside, then runs pg_basebackup.
  void basebackup(const CloneSpec& spec, Done cb);
  /// Rewinds the (stopped) data directory from the upstream; finishes crash
  /// recovery first (single-user mode) if it was not shut down cleanly.
  ///
  /// Before PostgreSQL 16, pg_rewind reads the source's timeline from its
  /// pg_control, which a freshly promoted server only updates at its next
  /// checkpoint; until then pg_rewind wrongly answers "no rewind required".
  /// So the source is first asked (SQL over `spec.source`) for its current
  /// and its checkpointed timeline, and pg_rewind runs only once they agree
  /// (Postgres::promote checkpoints right after promoting). If the source
  /// cannot be reached or never checkpoints, the directory is left in place
  /// (it is intact) and the error says why.
  void rewind(const CloneSpec& spec, Done cb);
  const CloneProgress& progress() const { return progress_; }
  bool busy() const { return child_ != nullptr; }

 private:
  void begin(const std::string& tool, Done cb);
  void run_tool(const std::string& name, std::vector<std::string> argv, const CloneSpec& spec,
                std::function<void(const ChildExit&)> on_exit);
  void on_progress_line(const std::string& line);
  void fail(const CloneSpec& spec, const std::string& error);
  void finish(Result r);
  void start_rewind(const CloneSpec& spec);
  void check_source(const CloneSpec& spec, int64_t deadline);
  void after_recovery(const CloneSpec& spec);

  event_base* base_;
  std::unique_ptr<Child> child_;
  std::unique_ptr<PqConn> source_;
  event* retry_ev_ = nullptr;
  std::function<void()> retry_fn_;
  void retire_child();
  CloneProgress progress_;
  Done cb_;
  Alive alive_;
};

}  // namespace pw::pgctl
