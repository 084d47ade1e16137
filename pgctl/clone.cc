// pgctl/clone.cc — see clone.h.
#include "pgctl/clone.h"

#include <event2/event.h>
#include <signal.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include "base/clock.h"
#include "base/log.h"
#include "pgctl/child.h"
#include "pgctl/data_dir.h"
#include "pgctl/defer.h"
#include "pgctl/fs.h"

namespace pw::pgctl {
namespace {

bool dir_has_entries(const std::string& dir) {
  std::vector<std::string> names;
  std::string err;
  return list_dir(dir, &names, &err) && !names.empty();
}

}  // namespace

Cloner::~Cloner() {  // a running tool is killed by ~Child
  if (retry_ev_) event_free(retry_ev_);
}

void Cloner::retire_child() {
  // The child may be the one whose exit callback is running right now:
  // free it on a later loop turn.
  if (!child_) return;
  Child* c = child_.release();
  defer(base_, [c] { delete c; });
}

void Cloner::begin(const std::string& tool, Done cb) {
  progress_ = CloneProgress{};
  progress_.active = true;
  progress_.tool = tool;
  progress_.started_ms = mono_ms();
  cb_ = std::move(cb);
}

void Cloner::finish(Result r) {
  progress_.active = false;
  progress_.finished_ms = mono_ms();
  if (!r.ok) progress_.error = r.error;
  PW_INFO("pgctl", "clone tool=%s result=%s elapsed_ms=%lld%s%s", progress_.tool.c_str(),
          r.ok ? "ok" : "failed",
          static_cast<long long>(progress_.finished_ms - progress_.started_ms),
          r.ok ? "" : " error=", r.ok ? "" : r.error.c_str());
  retire_child();
  Done cb = std::move(cb_);
  cb_ = nullptr;
  if (cb) cb(r);
}

void Cloner::fail(const CloneSpec& spec, const std::string& error) {
  std::string msg = error;
  if (dir_has_entries(spec.data_dir)) {
    std::string moved, err;
    if (move_dir_aside(spec.data_dir, &moved, &err)) {
      msg += "; the data directory was moved aside to " + moved;
      if (progress_.moved_aside_to.empty()) progress_.moved_aside_to = moved;
    } else {
      msg += "; and it could not be moved aside: " + err;
    }
  } else if (!progress_.moved_aside_to.empty()) {
    msg += "; the previous data directory is in " + progress_.moved_aside_to;
  }
  finish(Result::failure(msg));
}

void Cloner::on_progress_line(const std::string& line) {
  progress_.last_line = line;
  unsigned long long done = 0, total = 0;
  // pg_basebackup/pg_rewind --progress: "123456/654321 kB (18%), 0/1 tablespace"
  if (sscanf(line.c_str(), "%llu/%llu kB", &done, &total) == 2) {
    progress_.done_kb = done;
    progress_.total_kb = total;
  }
}

void Cloner::run_tool(const std::string& name, std::vector<std::string> argv, const CloneSpec& spec,
                      std::function<void(const ChildExit&)> on_exit) {
  ChildOptions o;
  o.name = name;
  o.argv = std::move(argv);
  o.env = {"PGPASSFILE=" + spec.passfile, "LC_MESSAGES=C", "PGCONNECT_TIMEOUT=10"};
  o.timeout_ms = spec.timeout_ms;
  o.pdeathsig = SIGKILL;  // no orphaned copy running on after the daemon died
  o.tail_lines = 20;
  o.on_line = [this](const std::string& l) { on_progress_line(l); };
  std::string err;
  retire_child();
  child_ = Child::spawn(base_, std::move(o), std::move(on_exit), &err);
  if (!child_) {
    std::string e = "cannot start " + name + ": " + err;
    defer(base_, alive_.weak(), [this, spec, e] { fail(spec, e); });
  }
}

void Cloner::basebackup(const CloneSpec& spec, Done cb) {
  begin("pg_basebackup", std::move(cb));
  if (dir_has_entries(spec.data_dir)) {
    std::string moved, err;
    if (!move_dir_aside(spec.data_dir, &moved, &err)) {
      defer(base_, alive_.weak(), [this, err] { finish(Result::failure("cannot clone: " + err)); });
      return;
    }
    progress_.moved_aside_to = moved;
    PW_WARN("pgctl", "clone moved previous data directory aside from=%s to=%s",
            spec.data_dir.c_str(), moved.c_str());
  } else if (file_exists(spec.data_dir)) {
    // An empty directory (maybe a mount point) is fine for pg_basebackup,
    // which wants it empty or absent.
  }
  std::vector<std::string> argv = {spec.bin_dir + "/pg_basebackup",
                                   "-D",
                                   spec.data_dir,
                                   "-X",
                                   "stream",
                                   "-c",
                                   "fast",
                                   "-P",
                                   "-v",
                                   "-w",
                                   "-d",
                                   spec.conninfo};
  if (!spec.slot.empty()) {
    argv.push_back("-S");
    argv.push_back(spec.slot);
  }
  PW_INFO("pgctl", "clone basebackup starting data_dir=%s slot=%s", spec.data_dir.c_str(),
          spec.slot.empty() ? "(temporary)" : spec.slot.c_str());
  run_tool("pg_basebackup", std::move(argv), spec, [this, spec](const ChildExit& ex) {
    if (ex.ok()) {
      finish(Result::success());
      return;
    }
    fail(spec, "pg_basebackup " + ex.error_text());
  });
}

void Cloner::rewind(const CloneSpec& spec, Done cb) {
  begin("pg_rewind", std::move(cb));
  DataDirInfo info = inspect_data_dir(spec.data_dir, InspectOptions{});
  if (info.kind != DataDirInfo::Kind::cluster) {
    std::string e = "cannot rewind " + spec.data_dir + ": it is " + describe(info);
    defer(base_, alive_.weak(), [this, spec, e] { fail(spec, e); });
    return;
  }
  if (info.running_pid != 0) {
    std::string e = "cannot rewind " + spec.data_dir + ": a postmaster (pid " +
                    std::to_string(info.running_pid) + ") is running on it";
    defer(base_, alive_.weak(),
          [this, e] { finish(Result::failure(e)); });  // not moved: it is in use
    return;
  }
  // Single-user mode refuses standby mode, and pg_rewind needs a cleanly
  // shut down target: the signal files go (they are rewritten before the
  // next start anyway).
  std::string err;
  remove_file(spec.data_dir + "/standby.signal", &err);
  remove_file(spec.data_dir + "/recovery.signal", &err);
  if (info.clean_shutdown) {
    after_recovery(spec);
    return;
  }
  PW_INFO("pgctl",
          "rewind target was not shut down cleanly (state \"%s\"): running crash "
          "recovery in single-user mode first",
          info.state.c_str());
  run_tool("postgres-single",
           {spec.bin_dir + "/postgres", "--single", "-F", "-D", spec.data_dir, "postgres"}, spec,
           [this, spec](const ChildExit& ex) {
             if (!ex.ok()) {
               fail(spec, "crash recovery before pg_rewind (postgres --single) " + ex.error_text());
               return;
             }
             after_recovery(spec);
           });
}

void Cloner::after_recovery(const CloneSpec& spec) {
  if (spec.source.empty()) {
    start_rewind(spec);
    return;
  }
  check_source(spec, mono_ms() + spec.source_wait_ms);
}

void Cloner::check_source(const CloneSpec& spec, int64_t deadline) {
  constexpr const char* kSql =
      "SELECT pg_is_in_recovery(), (SELECT timeline_id FROM pg_control_checkpoint()), "
      "CASE WHEN pg_is_in_recovery() THEN 0 ELSE "
      "('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint END";
  source_ = std::make_unique<PqConn>(base_, spec.source, 10000);
  auto retry = [this, spec, deadline](const std::string& why) {
    if (mono_ms() >= deadline) {
      // Not a failure of the directory: leave it where it is.
      finish(Result::failure_untouched("pg_rewind not started: " + why));
      return;
    }
    PW_INFO("pgctl", "rewind waiting for the source: %s", why.c_str());
    if (!retry_ev_)
      retry_ev_ = evtimer_new(
          base_,
          [](int, short, void* arg) {
            auto* fn = static_cast<std::function<void()>*>(arg);
            (*fn)();
          },
          &retry_fn_);
    retry_fn_ = [this, spec, deadline] { check_source(spec, deadline); };
    timeval tv{0, 500 * 1000};
    evtimer_add(retry_ev_, &tv);
  };
  PqConn* conn = source_.get();
  conn->connect([this, conn, spec, retry, kSql](const std::string& err) {
    if (!err.empty()) {
      retry("cannot connect to the source: " + err);
      return;
    }
    conn->query(kSql, {}, [this, spec, retry](const QueryResult& r) {
      if (!r.ok || r.rows.size() != 1) {
        retry("cannot read the source's timeline: " + (r.ok ? std::string("no row") : r.error));
        return;
      }
      uint64_t checkpointed = std::strtoull(r.at(0, 1).c_str(), nullptr, 10);
      uint64_t current = std::strtoull(r.at(0, 2).c_str(), nullptr, 10);
      if (r.at(0, 0) == "f" && checkpointed < current) {
        retry("the source is on timeline " + std::to_string(current) +
              " but its last checkpoint is on timeline " + std::to_string(checkpointed) +
              " (promoted, not checkpointed yet: run CHECKPOINT on it)");
        return;
      }
      start_rewind(spec);
    });
  });
}

void Cloner::start_rewind(const CloneSpec& spec) {
  if (source_) {
    PqConn* c = source_.release();  // we may be inside its callback
    defer(base_, [c] { delete c; });
  }
  std::vector<std::string> argv = {spec.bin_dir + "/pg_rewind", "-D", spec.data_dir,
                                   "--source-server=" + spec.conninfo, "-P"};
  run_tool("pg_rewind", std::move(argv), spec, [this, spec](const ChildExit& ex) {
    if (ex.ok()) {
      finish(Result::success());
      return;
    }
    fail(spec, "pg_rewind " + ex.error_text());
  });
}

}  // namespace pw::pgctl
