// pgctl/postgres.cc — the Postgres implementation: ties inspection, the
// managed files, the postmaster, cloning, slots, roles and probes together
// into the operations of postgres.h. Sequencing only; each step lives in
// its own file.
#include "pgctl/postgres.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include <cerrno>
#include <memory>

#include "base/clock.h"
#include "base/log.h"
#include "pgctl/auth_backends.h"
#include "pgctl/child.h"
#include "pgctl/clone.h"
#include "pgctl/defer.h"
#include "pgctl/fs.h"
#include "pgctl/initdb.h"
#include "pgctl/managed_conf.h"
#include "pgctl/pidfile.h"
#include "pgctl/postmaster.h"
#include "pgctl/probe.h"
#include "pgctl/roles.h"
#include "pgctl/secrets.h"
#include "pgctl/slots.h"
#include "pgctl/timeline_files.h"
#include "pgctl/version.h"

namespace pw::pgctl {
namespace {

constexpr int64_t kPollMs = 100;

class PostgresImpl final : public Postgres {
 public:
  PostgresImpl(event_base* base, const PgOptions& o)
      : base_(base), o_(o), pm_(base, o.bin_dir, o.data_dir), cloner_(base), tasks_(base) {
    std::string err;
    bin_major_ = detect_bin_major(o_.bin_dir, 10000, &err);
    if (bin_major_ == 0)
      PW_ERROR("pgctl", "bin_dir=%s version unknown: %s", o_.bin_dir.c_str(), err.c_str());
    passfile_ = o_.passfile.empty() ? o_.socket_dir + "/pgwarden.pgpass" : o_.passfile;
    pm_.set_exit_handler([this](int status) {
      PW_WARN("pgctl", "postmaster exited unexpectedly status=%d", status);
      if (exit_handler_) exit_handler_(status);
    });
  }

  DataDirInfo inspect() override {
    InspectOptions io;
    io.expected_major = bin_major_;
    io.expected_system_id = o_.expected_system_id;
    return inspect_data_dir(o_.data_dir, io);
  }

  void initdb(Done cb) override {
    DataDirInfo info = inspect();
    if (info.kind != DataDirInfo::Kind::empty) {
      fail_later(cb, "refusing initdb: the data directory is not empty (" + describe(info) + ")");
      return;
    }
    ChildOptions co;
    co.name = "initdb";
    co.argv = initdb_argv(o_);
    co.timeout_ms = o_.op_timeout_ms;
    co.pdeathsig = SIGKILL;
    std::string err;
    tool_ = Child::spawn(
        base_, std::move(co),
        [this, cb](const ChildExit& ex) {
          retire_tool();
          if (!ex.ok()) {
            cb(Result::failure("initdb " + ex.error_text()));
            return;
          }
          PW_INFO("pgctl", "initdb done data_dir=%s", o_.data_dir.c_str());
          cb(Result::success());
        },
        &err);
    if (!tool_) fail_later(cb, "cannot run initdb: " + err);
  }

  void start(Role role, const Upstream& upstream, Done cb) override {
    if (pm_.running()) {
      fail_later(cb, "PostgreSQL is already running (pid " + std::to_string(pm_.pid()) + ")");
      return;
    }
    if (pid_t other = live_postmaster(o_.data_dir)) {
      if (!o_.adopt_running) {
        fail_later(cb, "a postmaster (pid " + std::to_string(other) +
                           ") that pgwarden did not "
                           "start is running on " +
                           o_.data_dir + "; stop it (" + o_.bin_dir + "/pg_ctl -D " + o_.data_dir +
                           " stop -m fast) or set adopt_running");
        return;
      }
      pm_.adopt(other);
      defer(base_, [cb] { cb(Result::success()); });
      return;
    }
    DataDirInfo info = inspect();
    if (info.kind != DataDirInfo::Kind::cluster) {
      fail_later(cb, "cannot start PostgreSQL: the data directory is " + describe(info));
      return;
    }
    // I2: a directory that was a standby is never restarted directly as a
    // primary (that would continue its timeline without a switch); it starts
    // as a standby and is promoted, which opens a new timeline.
    // The socket directory (also the default passfile's home) may be on a
    // tmpfs that was emptied by a reboot.
    if (::mkdir(o_.socket_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      fail_later(cb, "cannot create socket directory " + o_.socket_dir + ": " + errno_text(errno));
      return;
    }
    bool promote_after = role == Role::primary && info.was_standby;
    bool standby = role == Role::standby || promote_after;
    std::string err;
    if (!write_conf(standby, promote_after ? Upstream{} : upstream, true, &err)) {
      fail_later(cb, "cannot write the managed configuration: " + err);
      return;
    }
    if (standby) {
      // Placeholders above every real history (a promotion that did not
      // happen) would be this standby's recovery target: a fatal start.
      std::vector<uint32_t> removed;
      if (!remove_dangling_placeholders(o_.data_dir, info.timeline, &removed, &err)) {
        fail_later(cb, "cannot clear timeline placeholders: " + err);
        return;
      }
      for (uint32_t id : removed)
        PW_INFO("pgctl", "start: removed the placeholder history of timeline %u (no promotion used it)", id);
    }
    PW_INFO("pgctl", "start role=%s%s upstream=%s:%u", standby ? "standby" : "primary",
            promote_after ? " (then promote)" : "", upstream.host.c_str(), upstream.port);
    pm_.start(o_.op_timeout_ms, [this, cb, promote_after, alive = alive_.weak()](const Result& r) {
      if (!alive.lock()) return;
      if (!r.ok || !promote_after) {
        cb(r);
        return;
      }
      promote(0, cb);
    });
  }

  void stop(StopMode mode, Done cb) override {
    if (!pm_.running()) {
      if (pid_t other = live_postmaster(o_.data_dir)) {
        // Stopping is always safe (I2): take over a postmaster we did not
        // start just to stop it.
        PW_WARN("pgctl", "stop: postmaster pid=%d was not started by pgwarden; stopping it", other);
        pm_.adopt(other);
      }
    }
    pm_.stop(mode, o_.stop_timeout_ms, std::move(cb));
  }

  void promote(uint32_t min_timeline, Done cb) override {
    if (!pm_.running()) {
      fail_later(cb, "cannot promote: PostgreSQL is not running");
      return;
    }
    int64_t wait_s = std::max<int64_t>(1, o_.stop_timeout_ms / 1000);
    SqlTask& t = tasks_.add(
        local(wait_s * 1000 + 5000), wait_s * 1000 + 5000, "promote", [this, cb](const Result& r) {
          if (r.ok) {
            std::string err;
            if (!write_conf(false, Upstream{}, false, &err))
              PW_WARN("pgctl", "promote: cannot rewrite managed config: %s", err.c_str());
            checkpoint_after_promote();
          }
          cb(r);
        });
    const std::string data_dir = o_.data_dir;
    // The standby's own timeline: the highest it received, replays or
    // checkpointed (its recovery target is at least that; every id between
    // it and the target has a history file already).
    t.start([wait_s, min_timeline, data_dir](SqlTask& t) {
      t.run("SELECT pg_is_in_recovery(), "
            "(SELECT timeline_id FROM pg_control_checkpoint()), "
            "(SELECT min_recovery_end_timeline FROM pg_control_recovery()), "
            "coalesce((SELECT received_tli FROM pg_stat_wal_receiver), 0)",
            {}, [wait_s, min_timeline, data_dir](SqlTask& t, const QueryResult& r) {
              if (r.rows.size() != 1 || r.columns.size() != 4) {
                t.finish(Result::failure("promote: unexpected answer shape"));
                return;
              }
              if (r.at(0, 0) == "f") {
                PW_INFO("pgctl", "promote: already a primary");
                finish_on_timeline(t, min_timeline);
                return;
              }
              uint32_t own = 0;
              for (size_t col = 1; col < 4; ++col)
                if (!r.is_null(0, col))
                  own = std::max(own, static_cast<uint32_t>(std::strtoul(r.at(0, col).c_str(), nullptr, 10)));
              if (min_timeline > own + 1) {
                std::vector<uint32_t> written;
                std::string err;
                if (!reserve_timeline_ids(data_dir, own + 1, min_timeline - 1, &written, &err)) {
                  t.finish(Result::failure("promote: cannot write the timeline placeholders: " + err));
                  return;
                }
                PW_INFO("pgctl", "promote: timeline %u, at least %u required: %s", own, min_timeline,
                        written.empty() ? "every id between has a history file already"
                                        : ("placeholder history for " + describe_ids(written)).c_str());
              }
              // pg_promote(wait => true) checks every 100 ms whether promotion
              // finished; asking ourselves every 10 ms saves ~50 ms per promotion
              // on average (it is on the switchover's write gap).
              t.run("SELECT pg_promote(false)", {}, [wait_s, min_timeline](SqlTask& t, const QueryResult& r) {
                if (r.rows.empty() || r.at(0, 0) != "t") {
                  t.finish(Result::failure("promote: pg_promote refused"));
                  return;
                }
                poll_promoted(t, mono_ms() + wait_s * 1000, wait_s, min_timeline);
              });
            });
    });
  }

  void wait_for_clients(int64_t min_ms, int64_t max_ms, Done cb) override {
    if (!pm_.running() || max_ms <= 0) {
      defer(base_, [cb] { cb(Result::success()); });
      return;
    }
    const int64_t start = mono_ms(), deadline = start + max_ms, not_before = start + min_ms;
    auto left = std::make_shared<std::string>("?");
    SqlTask& t = tasks_.add(local(max_ms + 2000), max_ms + 2000, "wait_for_clients",
                            [cb, left, max_ms](const Result& r) {
                              if (!r.ok)
                                PW_INFO("pgctl", "wait_for_clients: %s (going on)", r.error.c_str());
                              else if (*left != "0")
                                PW_INFO("pgctl", "wait_for_clients: %s client session(s) still open after %lld ms",
                                        left->c_str(), static_cast<long long>(max_ms));
                              cb(Result::success());
                            });
    const pid_t pm = pm_.pid();
    t.start([not_before, deadline, left, pm](SqlTask& t) { poll_clients(t, not_before, deadline, left, pm); });
  }

  std::optional<uint64_t> switchpoint(uint32_t tli, uint32_t ancestor) override {
    uint64_t lsn = 0;
    std::string err;
    Switchpoint r = read_switchpoint(o_.data_dir, tli, ancestor, &lsn, &err);
    if (!err.empty()) PW_WARN("pgctl", "switchpoint: %s", err.c_str());
    if (r != Switchpoint::found) return std::nullopt;
    return lsn;
  }

  void follow(const Upstream& upstream, Done cb) override {
    std::string err;
    if (!pm_.running()) {
      // Not running: the next start(standby) uses this upstream.
      if (!write_conf(true, upstream, true, &err)) {
        fail_later(cb, "follow: " + err);
        return;
      }
      defer(base_, [cb] { cb(Result::success()); });
      return;
    }
    // Decide how: a primary is demoted (stop + start as standby); PG < 13
    // needs a restart for primary_conninfo; otherwise a reload suffices.
    auto how = std::make_shared<std::string>();
    SqlTask& t = tasks_.add(local(o_.probe_timeout_ms), o_.probe_timeout_ms, "follow",
                            [this, upstream, cb, how, alive = alive_.weak()](const Result& r) {
                              if (!alive.lock()) return;
                              if (!r.ok) {
                                cb(r);
                                return;
                              }
                              if (*how == "demote" || *how == "restart") {
                                PW_INFO("pgctl", "follow upstream=%s:%u by %s",
                                        upstream.host.c_str(), upstream.port, how->c_str());
                                demote(upstream, cb);
                                return;
                              }
                              std::string err;
                              if (!write_conf(true, upstream, false, &err)) {
                                cb(Result::failure("follow: " + err));
                                return;
                              }
                              PW_INFO("pgctl", "follow upstream=%s:%u by reload",
                                      upstream.host.c_str(), upstream.port);
                              reload_and_wait("follow", cb);
                            });
    uint32_t major = bin_major_;
    t.start([major, how](SqlTask& t) {
      t.run("SELECT pg_is_in_recovery()", {}, [major, how](SqlTask& t, const QueryResult& r) {
        if (r.rows.empty() || r.at(0, 0) != "t")
          *how = "demote";
        else if (major != 0 && major < 13)
          *how = "restart";
        else
          *how = "reload";
        t.finish(Result::success());
      });
    });
  }

  void demote(const Upstream& upstream, Done cb) override {
    pm_.stop(StopMode::fast, o_.stop_timeout_ms,
             [this, upstream, cb, alive = alive_.weak()](const Result& r) {
               if (!alive.lock()) return;
               if (!r.ok) {
                 cb(Result::failure("demote: stop failed: " + r.error));
                 return;
               }
               start(Role::standby, upstream, cb);
             });
  }

  void basebackup(const Upstream& upstream, Done cb) override {
    if (pm_.running() || live_postmaster(o_.data_dir)) {
      fail_later(
          cb, "cannot clone into " + o_.data_dir + ": PostgreSQL is running on it; stop it first");
      return;
    }
    std::string err;
    if (!ensure_passfile(&err)) {
      fail_later(cb, "cannot clone: " + err);
      return;
    }
    CloneSpec s = spec(upstream, "");
    s.slot = slot_name(o_.node_name);
    cloner_.basebackup(s, after_copy(upstream, std::move(cb)));
  }

  void rewind(const Upstream& upstream, Done cb) override {
    std::string err;
    if (!ensure_passfile(&err)) {
      fail_later(cb, "cannot rewind: " + err);
      return;
    }
    CloneSpec s = spec(upstream, "postgres");
    s.source = {{"host", upstream.host},       {"port", std::to_string(upstream.port)},
                {"user", o_.replication_user}, {"passfile", passfile_},
                {"dbname", "postgres"},        {"application_name", o_.node_name + "-rewind"},
                {"connect_timeout", "5"}};
    // Long enough for a live new primary's first checkpoint on its timeline,
    // short enough that a dead source does not keep the agent from starting
    // this node as a standby (a failover candidate) for minutes.
    s.source_wait_ms = std::min<int64_t>(o_.op_timeout_ms, 20000);
    pm_.stop(StopMode::fast, o_.stop_timeout_ms,
             [this, s, cb, upstream, alive = alive_.weak()](const Result& r) {
               if (!alive.lock()) return;
               if (!r.ok) {
                 cb(Result::failure("rewind: cannot stop PostgreSQL first: " + r.error));
                 return;
               }
               cloner_.rewind(s, after_copy(upstream, cb));
             });
  }

  Result move_aside(std::string* new_path) override {
    if (pm_.running() || live_postmaster(o_.data_dir))
      return Result::failure("cannot move " + o_.data_dir + " aside: PostgreSQL is running on it");
    std::string err;
    if (!move_dir_aside(o_.data_dir, new_path, &err)) return Result::failure(err);
    PW_WARN("pgctl", "data directory moved aside from=%s to=%s", o_.data_dir.c_str(),
            new_path->c_str());
    return Result::success();
  }

  void ensure_replication_role(Done cb) override {
    std::string password, err;
    if (!read_password_file(o_.replication_password_file, &password, &err)) {
      fail_later(cb, "ensure_replication_role: " + err);
      return;
    }
    start_ensure_replication_role(tasks_, local(o_.probe_timeout_ms * 5), o_.probe_timeout_ms * 5,
                                  o_.replication_user, std::move(password), std::move(cb));
  }

  void ensure_superuser_password(Done cb) override {
    if (o_.superuser_password_file.empty()) {
      defer(base_, [cb] { cb(Result::success()); });
      return;
    }
    std::string password, err;
    if (!read_password_file(o_.superuser_password_file, &password, &err,
                            "superuser password file")) {
      fail_later(cb, "ensure_superuser_password: " + err);
      return;
    }
    start_ensure_superuser_password(tasks_, local(o_.probe_timeout_ms * 5),
                                    o_.probe_timeout_ms * 5, o_.superuser, std::move(password),
                                    std::move(cb));
  }

  void run_sql_file(const std::string& path, Done cb) override {
    if (path.empty()) {
      defer(base_, [cb] { cb(Result::success()); });
      return;
    }
    if (!pm_.running()) {
      fail_later(cb, "cannot run " + path + ": PostgreSQL is not running");
      return;
    }
    ChildOptions co;
    co.name = "bootstrap-sql";
    co.argv = {o_.bin_dir + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", o_.socket_dir, "-p",
               std::to_string(o_.port), "-U", o_.superuser, "-d", "postgres", "-f", path};
    co.timeout_ms = o_.op_timeout_ms;
    co.pdeathsig = SIGKILL;
    std::string err;
    tool_ = Child::spawn(
        base_, std::move(co),
        [this, cb, path](const ChildExit& ex) {
          retire_tool();
          if (!ex.ok()) {
            cb(Result::failure("psql -f " + path + " " + ex.error_text()));
            return;
          }
          PW_INFO("pgctl", "ran %s", path.c_str());
          cb(Result::success());
        },
        &err);
    if (!tool_) fail_later(cb, "cannot run psql: " + err);
  }

  void sync_slots(const std::vector<std::string>& names, Done cb) override {
    start_sync_slots(tasks_, local(o_.probe_timeout_ms * 5), o_.probe_timeout_ms * 5, names,
                     std::move(cb));
  }

  void set_synchronous_standby_names(const std::string& value, Done cb) override {
    o_.synchronous_standby_names = value;
    if (!pm_.running()) {
      // The next start writes it (with the role it starts in).
      defer(base_, [cb] { cb(Result::success()); });
      return;
    }
    if (!conf_written_) {
      fail_later(cb,
                 "set_synchronous_standby_names: PostgreSQL was adopted and pgwarden has not "
                 "written its configuration yet; restart it under pgwarden first");
      return;
    }
    std::string err;
    if (!write_conf(conf_.standby, current_upstream_, false, &err)) {
      fail_later(cb, "set_synchronous_standby_names: " + err);
      return;
    }
    reload_and_wait("set_synchronous_standby_names", std::move(cb));
  }

  void set_member_addresses(const std::vector<std::string>& addresses, Done cb) override {
    o_.member_addresses = addresses;
    if (!pm_.running() || !conf_written_) {
      // The next start writes it; an adopted server keeps its own pg_hba
      // until pgwarden restarts it.
      defer(base_, [cb] { cb(Result::success()); });
      return;
    }
    std::string err;
    if (!write_conf(conf_.standby, current_upstream_, false, &err)) {
      fail_later(cb, "set_member_addresses: " + err);
      return;
    }
    reload_and_wait("set_member_addresses", std::move(cb));
  }

  void reload(Done cb) override {
    if (!pm_.running()) {
      fail_later(cb, "reload: PostgreSQL is not running here; it reads its configuration when it starts");
      return;
    }
    int64_t timeout = std::max<int64_t>(o_.probe_timeout_ms * 5, 10000);
    SqlTask& t = tasks_.add(local(timeout), timeout, "reload", std::move(cb));
    t.start([](SqlTask& t) {
      t.run("SELECT pg_reload_conf()", {}, [](SqlTask& t, const QueryResult&) { t.finish(Result::success()); });
    });
  }

  void probe(std::function<void(const Status&)> cb) override {
    start_probe(tasks_, local(o_.probe_timeout_ms), o_.probe_timeout_ms,
                [this, cb = std::move(cb), alive = alive_.weak()](const Status& st) {
                  if (!alive.lock() || !st.running || !st.in_recovery) {
                    cb(st);
                    return;
                  }
                  // Replaying a PARAMETER_CHANGE record updates the standby's
                  // pg_control before replay pauses on it: compare there.
                  Status out = st;
                  DataDirInfo info = inspect();
                  if (info.kind == DataDirInfo::Kind::cluster)
                    out.settings_below_primary = hot_standby_shortfall(st.settings, info.params);
                  cb(out);
                });
  }

  pid_t postmaster_pid() const override { return pm_.pid(); }
  bool adopted() const override { return pm_.adopted(); }
  PostmasterHandle postmaster_handle() const override { return pm_.handle(); }
  void inherit_postmaster(const PostmasterHandle& h) override { pm_.inherit(h); }
  void set_exit_handler(std::function<void(int)> h) override { exit_handler_ = std::move(h); }
  void set_expected_system_id(uint64_t id) override { o_.expected_system_id = id; }
  CloneProgress clone_progress() const override { return cloner_.progress(); }
  uint32_t bin_major_version() const override { return bin_major_; }

 private:
  /// Polls pg_is_in_recovery() until false (promoted) or the deadline.
  static void poll_promoted(SqlTask& t, int64_t deadline, int64_t wait_s, uint32_t min_timeline) {
    t.run("SELECT pg_is_in_recovery()", {}, [deadline, wait_s, min_timeline](SqlTask& t, const QueryResult& r) {
      if (!r.rows.empty() && r.at(0, 0) == "f") {
        finish_on_timeline(t, min_timeline);
        return;
      }
      if (mono_ms() >= deadline) {
        t.finish(Result::failure("promote: not finished within " + std::to_string(wait_s) + " s"));
        return;
      }
      t.later(10, [deadline, wait_s, min_timeline](SqlTask& t) { poll_promoted(t, deadline, wait_s, min_timeline); });
    });
  }

  /// A primary now: reads the timeline it writes on (the name of its WAL
  /// file; pg_control's lags until the next checkpoint) and checks it.
  static void finish_on_timeline(SqlTask& t, uint32_t min_timeline) {
    t.run("SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint", {},
          [min_timeline](SqlTask& t, const QueryResult& r) {
            Result out;
            if (!r.rows.empty() && !r.is_null(0, 0))
              out.timeline = static_cast<uint32_t>(std::strtoul(r.at(0, 0).c_str(), nullptr, 10));
            if (out.timeline < min_timeline) {
              PW_ERROR("pgctl", "promote: the server writes on timeline %u, below the %u required", out.timeline,
                       min_timeline);
              out = Result::failure("promote: the server writes on timeline " + std::to_string(out.timeline) +
                                    ", below the " + std::to_string(min_timeline) +
                                    " required (a timeline id the cluster handed out before)");
            } else {
              PW_INFO("pgctl", "promoted timeline=%u (at least %u required)", out.timeline, min_timeline);
            }
            t.finish(out);
          });
  }

  static std::string describe_ids(const std::vector<uint32_t>& ids) {
    std::string s;
    for (uint32_t id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
    return s;
  }

  static void poll_clients(SqlTask& t, int64_t not_before, int64_t deadline, std::shared_ptr<std::string> left,
                           pid_t pm) {
    t.run("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
          {}, [not_before, deadline, left, pm](SqlTask& t, const QueryResult& r) {
            *left = r.rows.empty() ? "?" : r.at(0, 0);
            // Logins still authenticating are not in pg_stat_activity yet
            // (auth_backends.h); the shutdown would cut them.
            if (int authenticating = count_authenticating_backends(pm); authenticating > 0 && *left != "?")
              *left = std::to_string(std::strtoll(left->c_str(), nullptr, 10) + authenticating);
            int64_t now = mono_ms();
            if ((*left == "0" && now >= not_before) || now >= deadline) {
              t.finish(Result::success());
              return;
            }
            int64_t wait = *left == "0" ? std::min<int64_t>(10, not_before - now) : 10;
            t.later(wait, [not_before, deadline, left, pm](SqlTask& t) { poll_clients(t, not_before, deadline, left, pm); });
          });
  }

  PqConn::Params local(int64_t timeout_ms) const {
    return local_params(o_.socket_dir, o_.port, o_.superuser, timeout_ms);
  }

  void fail_later(const Done& cb, std::string error) {
    PW_WARN("pgctl", "operation failed: %s", error.c_str());
    defer(base_, [cb, error] { cb(Result::failure(error)); });
  }

  void retire_tool() {
    Child* c = tool_.release();
    defer(base_, [c] { delete c; });
  }

  // The copy brought the upstream's configuration files: make the
  // directory this node's standby of `upstream` right away, so it is never
  // left configured as another node (start() writes them again anyway).
  Done after_copy(const Upstream& upstream, Done cb) {
    return [this, upstream, cb, alive = alive_.weak()](const Result& r) {
      if (!alive.lock()) return;
      std::string err;
      if (r.ok && !write_conf(true, upstream, true, &err)) {
        cb(Result::failure("copied, but cannot write the managed configuration: " + err));
        return;
      }
      cb(r);
    };
  }

  // A promoted server records its new timeline in pg_control only at its
  // next checkpoint, and pg_rewind (< 16) of the old primary reads it from
  // there: checkpoint now, in the background (writes are already accepted).
  void checkpoint_after_promote() {
    SqlTask& t = tasks_.add(local(o_.op_timeout_ms), o_.op_timeout_ms, "checkpoint after promote",
                            [](const Result& r) {
                              if (r.ok)
                                PW_INFO("pgctl", "checkpoint after promote done");
                              else
                                PW_WARN("pgctl", "%s", r.error.c_str());
                            });
    t.start([](SqlTask& t) {
      t.run("CHECKPOINT", {}, [](SqlTask& t, const QueryResult&) { t.finish(Result::success()); });
    });
  }

  bool ensure_passfile(std::string* err) {
    if (o_.replication_password_file.empty()) return true;  // e.g. trust/cert auth
    std::string password;
    if (!read_password_file(o_.replication_password_file, &password, err)) return false;
    bool ok = write_passfile(passfile_, o_.replication_user, password, err);
    explicit_bzero(password.data(), password.size());
    return ok;
  }

  CloneSpec spec(const Upstream& up, const std::string& dbname) const {
    CloneSpec s;
    s.bin_dir = o_.bin_dir;
    s.data_dir = o_.data_dir;
    s.passfile = passfile_;
    s.conninfo = replication_conninfo(up.host, up.port, o_.replication_user, passfile_,
                                      o_.node_name, dbname);
    s.timeout_ms = o_.op_timeout_ms;
    return s;
  }

  bool write_conf(bool standby, const Upstream& up, bool stopped, std::string* err) {
    ManagedConf c;
    c.node_name = o_.node_name;
    c.listen_address = o_.listen_address;
    c.port = o_.port;
    c.socket_dir = o_.socket_dir;
    // max_wal_senders follows the member count, but only a restart can
    // change it: while the server runs (pg_hba reloads after a membership
    // change) the value it started with is kept.
    c.member_count = pm_.running() && conf_written_ ? conf_.member_count : o_.member_addresses.size();
    c.major = bin_major_;
    c.parameters = o_.parameters;
    c.synchronous_standby_names = o_.synchronous_standby_names;
    // A standby starts with at least the settings its primary runs with
    // (hot_standby_params.h); while it runs, what it started with stays.
    if (!pm_.running() || !conf_written_) {
      if (standby) {
        DataDirInfo info = inspect();
        if (info.kind == DataDirInfo::Kind::cluster) c.floors = info.params;
      }
    } else {
      c.floors = conf_.floors;
    }
    c.standby = standby;
    c.upstream_host = standby ? up.host : "";
    c.upstream_port = standby ? up.port : 0;
    c.replication_user = o_.replication_user;
    c.passfile = passfile_;
    c.slot_name = slot_name(o_.node_name);
    c.superuser = o_.superuser;
    c.member_addresses = o_.member_addresses;
    c.hba_extra = o_.hba_extra;
    if (standby && !up.host.empty() && !ensure_passfile(err)) return false;
    if (!write_managed_files(o_.data_dir, c, stopped, err)) return false;
    conf_ = c;
    conf_written_ = true;
    current_upstream_ = standby ? up : Upstream{};
    return true;
  }

  // Reloads the configuration and waits until the server reports the
  // values we wrote (a reload is asynchronous in PostgreSQL).
  void reload_and_wait(const std::string& what, Done cb) {
    std::string conninfo =
        conf_.standby && !conf_.upstream_host.empty()
            ? replication_conninfo(conf_.upstream_host, conf_.upstream_port, conf_.replication_user,
                                   conf_.passfile, conf_.node_name)
            : "";
    std::string slot = conf_.standby && !conf_.upstream_host.empty() ? conf_.slot_name : "";
    std::vector<std::string> expect = {conninfo, slot, conf_.synchronous_standby_names};
    int64_t timeout = std::max<int64_t>(o_.probe_timeout_ms * 5, 10000);
    SqlTask& t = tasks_.add(local(timeout), timeout, what, std::move(cb));
    t.start([expect](SqlTask& t) {
      t.run("SELECT pg_reload_conf()", {},
            [expect](SqlTask& t, const QueryResult&) { poll_settings(t, expect); });
    });
  }

  static void poll_settings(SqlTask& t, const std::vector<std::string>& expect) {
    t.run(
        "SELECT current_setting('primary_conninfo'), current_setting('primary_slot_name'), "
        "current_setting('synchronous_standby_names')",
        {}, [expect](SqlTask& t, const QueryResult& r) {
          if (r.rows.size() == 1 && r.rows[0] == expect) {
            t.finish(Result::success());
            return;
          }
          t.later(kPollMs, [expect](SqlTask& t) { poll_settings(t, expect); });
        });
  }

  event_base* base_;
  PgOptions o_;
  uint32_t bin_major_ = 0;
  std::string passfile_;
  Postmaster pm_;
  Cloner cloner_;
  TaskSet tasks_;
  std::unique_ptr<Child> tool_;
  ManagedConf conf_;  // what pgwarden.conf says now (valid if conf_written_)
  bool conf_written_ = false;
  Upstream current_upstream_;
  std::function<void(int)> exit_handler_;
  Alive alive_;
};

}  // namespace

std::unique_ptr<Postgres> Postgres::create(event_base* base, const PgOptions& opts) {
  return std::make_unique<PostgresImpl>(base, opts);
}

std::string Postgres::slot_name(const std::string& member) {
  return sanitize_slot_name(member);
}

}  // namespace pw::pgctl
