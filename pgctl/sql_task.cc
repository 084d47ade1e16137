// pgctl/sql_task.cc — see sql_task.h.
#include "pgctl/sql_task.h"

#include <event2/event.h>

namespace pw::pgctl {
namespace {
timeval ms_tv(int64_t ms) {
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}
}  // namespace

SqlTask::SqlTask(event_base* base, PqConn::Params params, int64_t timeout_ms, std::string what,
                 Done done)
    : base_(base),
      params_(std::move(params)),
      timeout_ms_(timeout_ms),
      what_(std::move(what)),
      done_(std::move(done)) {
  deadline_ev_ = evtimer_new(base_, &SqlTask::on_deadline, this);
  later_ev_ = evtimer_new(base_, &SqlTask::on_later, this);
}

SqlTask::~SqlTask() {
  event_free(deadline_ev_);
  event_free(later_ev_);
}

void SqlTask::start(std::function<void(SqlTask&)> first) {
  timeval tv = ms_tv(timeout_ms_);
  evtimer_add(deadline_ev_, &tv);
  conn_ = std::make_unique<PqConn>(base_, params_, timeout_ms_);
  conn_->connect([this, first = std::move(first)](const std::string& err) {
    if (finished_) return;
    if (!err.empty()) {
      finish(Result::failure(what_ + ": cannot connect to the local server: " + err));
      return;
    }
    first(*this);
  });
}

void SqlTask::run(const std::string& sql, std::vector<std::string> params, Step next,
                  bool tolerate_error) {
  if (finished_) return;
  conn_->query(sql, std::move(params),
               [this, next = std::move(next), tolerate_error](const QueryResult& r) {
                 if (finished_) return;
                 if (!r.ok && !tolerate_error) {
                   finish(Result::failure(what_ + ": " + r.error));
                   return;
                 }
                 next(*this, r);
               });
}

void SqlTask::later(int64_t delay_ms, std::function<void(SqlTask&)> fn) {
  if (finished_) return;
  later_fn_ = std::move(fn);
  timeval tv = ms_tv(delay_ms);
  evtimer_add(later_ev_, &tv);
}

void SqlTask::on_later(int, short, void* arg) {
  auto* self = static_cast<SqlTask*>(arg);
  auto fn = std::move(self->later_fn_);
  self->later_fn_ = nullptr;
  if (fn && !self->finished_) fn(*self);
}

void SqlTask::on_deadline(int, short, void* arg) {
  auto* self = static_cast<SqlTask*>(arg);
  self->finish(Result::failure(self->what_ + ": timed out after " +
                               std::to_string(self->timeout_ms_) + " ms"));
}

void SqlTask::finish(Result r) {
  if (finished_) return;
  finished_ = true;
  evtimer_del(deadline_ev_);
  evtimer_del(later_ev_);
  // The connection is not closed here: we may be inside its callback. The
  // TaskSet frees the whole task on a later loop turn.
  Done d = std::move(done_);
  done_ = nullptr;
  if (d) d(r);
}

TaskSet::TaskSet(event_base* base) : base_(base) {
  reap_ev_ = evtimer_new(base_, &TaskSet::on_reap, this);
}

TaskSet::~TaskSet() {
  event_free(reap_ev_);
  tasks_.clear();  // in-flight tasks are dropped without calling back
}

SqlTask& TaskSet::add(PqConn::Params params, int64_t timeout_ms, std::string what, Done done) {
  // Wrap `done` so that finishing schedules a reap.
  Done wrapped = [this, done = std::move(done)](const Result& r) {
    timeval tv{0, 0};
    evtimer_add(reap_ev_, &tv);
    if (done) done(r);
  };
  tasks_.push_back(std::make_unique<SqlTask>(base_, std::move(params), timeout_ms, std::move(what),
                                             std::move(wrapped)));
  return *tasks_.back();
}

void TaskSet::on_reap(int, short, void* arg) {
  auto* self = static_cast<TaskSet*>(arg);
  self->tasks_.remove_if([](const std::unique_ptr<SqlTask>& t) { return t->done(); });
}

}  // namespace pw::pgctl
