// ha/local_pg.h — what the agent knows of its own PostgreSQL: the last
// probe, the data directory as last inspected, whether we made it
// read-write, which primary a running standby was pointed at, and whether
// the directory must be rewound before it may follow anyone (I6).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>

#include "pgctl/postgres.h"

namespace pw::node {

class LocalPg {
 public:
  explicit LocalPg(pgctl::Postgres& pg) : pg_(pg) {}

  pgctl::Postgres& pg() { return pg_; }
  const pgctl::Status& status() const { return status_; }
  const pgctl::DataDirInfo& data() const { return data_; }
  bool has_data() const { return data_.kind == pgctl::DataDirInfo::Kind::cluster; }
  bool empty() const { return data_.kind == pgctl::DataDirInfo::Kind::empty; }

  /// Starts a probe at monotonic time `now` unless one is running (then
  /// returns false); `changed` runs when the server was found started or
  /// stopped, `done` (optional) once the probe's result is recorded.
  bool probe(int64_t now, std::function<void()> changed, std::function<void()> done = nullptr);
  /// Re-reads the data directory. A directory that last ran as a primary
  /// and is not our running primary now must be rewound before following
  /// another node — whatever the (possibly stale, replayed) log says about
  /// who the primary is.
  void refresh();

  /// PostgreSQL accepts writes as far as we know (we started/promoted it,
  /// or a probe saw it out of recovery).
  bool writable() const { return primary_ || (status_.running && !status_.in_recovery); }
  bool running() const { return status_.running || primary_; }

  // Facts the controllers record after their operations.
  /// `timeline`: the one it writes on, when the operation told (promote).
  void mark_primary(uint32_t timeline = 0) {
    ++marks_;
    primary_ = true;
    becoming_primary_ = false;
    status_.running = true;
    status_.in_recovery = false;
    needs_rewind_ = false;
    writing_timeline_ = timeline;
    if (timeline != 0) tl_high_ = std::max(tl_high_, timeline);
  }
  void mark_standby(const std::string& following) {
    ++marks_;
    writing_timeline_ = 0;
    primary_ = false;
    becoming_primary_ = false;
    status_.running = true;
    status_.in_recovery = true;
    following_ = following;
  }
  void mark_stopped() {
    ++marks_;
    writing_timeline_ = 0;
    primary_ = false;
    becoming_primary_ = false;
    status_.running = false;
    following_.clear();
  }
  bool made_primary() const { return primary_; }
  /// A start as primary or a promotion is under way: the server may take
  /// writes before the operation is reported (crash recovery ends, the
  /// promotion completes), so the fencer follows the lease as for a primary
  /// (I2). Ends with mark_primary/mark_standby/mark_stopped or on failure.
  void mark_becoming_primary() { becoming_primary_ = true; }
  void clear_becoming_primary() { becoming_primary_ = false; }
  bool becoming_primary() const { return becoming_primary_; }
  const std::string& following() const { return following_; }
  void set_following(const std::string& f) { following_ = f; }
  bool needs_rewind() const { return needs_rewind_; }
  void set_needs_rewind(bool v) { needs_rewind_ = v; }

  /// Probes completed so far (a probe started after some moment is
  /// complete once this passes the count then + 2).
  uint64_t probes_done() const { return probes_done_; }

  /// When (monotonic) the probe whose positions status() holds was started;
  /// -1 before the first. The status may describe the server that long
  /// ago: the agent can be frozen (SIGSTOP, a stalled host) between a probe
  /// and the gossip that carries it, while PostgreSQL keeps streaming.
  int64_t probed_at() const { return probed_at_; }

  /// Highest timeline seen for the current data directory (a standby
  /// reports the WAL receiver's, which disappears with its primary).
  uint32_t timeline();

  /// The timeline our primary writes on, as told by its promotion or by a
  /// probe that ran after we made it primary; 0 = not known yet (what
  /// `ready` records must be exact: a probe of the server as it was before
  /// would name the timeline it left).
  uint32_t primary_timeline() const { return primary_ ? writing_timeline_ : 0; }

 private:
  pgctl::Postgres& pg_;
  pgctl::Status status_;
  pgctl::DataDirInfo data_;
  bool probe_inflight_ = false;
  uint64_t probes_done_ = 0;
  int64_t probed_at_ = -1;
  uint64_t marks_ = 0;  // facts recorded by operations; a probe started before one is stale
  bool primary_ = false;        // we started or promoted it read-write
  bool becoming_primary_ = false;  // a start as primary or a promotion is under way
  bool needs_rewind_ = false;
  std::string following_;       // primary our running standby was pointed at
  uint32_t tl_high_ = 0;
  uint64_t tl_system_id_ = 0;
  uint32_t writing_timeline_ = 0;  // see primary_timeline()
};

}  // namespace pw::node
