// pgctl/sql_task.h — a short conversation with the local server: connect
// over the unix socket, run dependent statements one after another (each
// step decides the next from the previous result), finish with a Result.
// The whole conversation has one deadline. Tasks live in a TaskSet owned by
// the Postgres object, so destroying it cancels everything in flight, and a
// finished task is freed on a later loop turn (never inside its own callback).
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "pgctl/pq_conn.h"
#include "pgctl/result.h"

struct event_base;
struct event;

namespace pw::pgctl {

class SqlTask {
 public:
  using Step = std::function<void(SqlTask&, const QueryResult&)>;
  /// `what` names the task in errors ("sync_slots: ...").
  SqlTask(event_base* base, PqConn::Params params, int64_t timeout_ms, std::string what, Done done);
  ~SqlTask();
  SqlTask(const SqlTask&) = delete;
  SqlTask& operator=(const SqlTask&) = delete;

  /// Connects, then calls `first`.
  void start(std::function<void(SqlTask&)> first);
  /// Runs `sql`; `next` receives the result. A failed statement finishes the
  /// task with the error unless `tolerate_error`.
  void run(const std::string& sql, std::vector<std::string> params, Step next,
           bool tolerate_error = false);
  /// Calls `fn` after `delay_ms` (polling for a condition).
  void later(int64_t delay_ms, std::function<void(SqlTask&)> fn);
  /// Ends the task: `done` runs once with `r`.
  void finish(Result r);
  bool done() const { return finished_; }
  PGconn* pg() const { return conn_ ? conn_->pg() : nullptr; }
  const std::string& what() const { return what_; }

 private:
  static void on_deadline(int fd, short what, void* arg);
  static void on_later(int fd, short what, void* arg);
  event_base* base_;
  PqConn::Params params_;
  int64_t timeout_ms_;
  std::string what_;
  Done done_;
  std::unique_ptr<PqConn> conn_;
  event* deadline_ev_ = nullptr;
  event* later_ev_ = nullptr;
  std::function<void(SqlTask&)> later_fn_;
  bool finished_ = false;
};

/// Owns running tasks; finished ones are freed on a later loop turn.
class TaskSet {
 public:
  explicit TaskSet(event_base* base);
  ~TaskSet();
  /// Creates and registers a task; the reference stays valid until it finishes.
  SqlTask& add(PqConn::Params params, int64_t timeout_ms, std::string what, Done done);

 private:
  static void on_reap(int fd, short what, void* arg);
  event_base* base_;
  event* reap_ev_ = nullptr;
  std::list<std::unique_ptr<SqlTask>> tasks_;
};

}  // namespace pw::pgctl
