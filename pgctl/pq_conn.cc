// pgctl/pq_conn.cc — see pq_conn.h.
#include "pgctl/pq_conn.h"

#include <event2/event.h>
#include <libpq-fe.h>

#include <algorithm>

#include "base/log.h"

namespace pw::pgctl {
namespace {

void quiet_notice(void*, const char* message) {
  // Server notices (e.g. "slot does not exist, skipping") are not errors;
  // keep them out of stderr but available at debug level.
  std::string m = message ? message : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == '\r')) m.pop_back();
  PW_DEBUG("pgctl", "libpq notice=\"%s\"", m.c_str());
}

std::string clean_error(const char* msg) {
  std::string m = msg ? msg : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  for (char& c : m)
    if (c == '\n') c = ' ';
  return m.empty() ? "unknown libpq error" : m;
}

}  // namespace

PqConn::Params local_params(const std::string& socket_dir, uint16_t port, const std::string& user,
                            int64_t statement_timeout_ms, const std::string& application_name) {
  return {{"host", socket_dir},
          {"port", std::to_string(port)},
          {"user", user},
          {"dbname", "postgres"},
          {"application_name", application_name},
          {"options", "-c statement_timeout=" + std::to_string(statement_timeout_ms)},
          {"connect_timeout", std::to_string(std::max<int64_t>(2, statement_timeout_ms / 1000))}};
}

PqConn::PqConn(event_base* base, Params params, int64_t timeout_ms)
    : base_(base), params_(std::move(params)), timeout_ms_(timeout_ms) {
  timer_ev_ = evtimer_new(base_, &PqConn::on_timeout, this);
  defer_ev_ = evtimer_new(base_, &PqConn::on_deferred, this);
}

PqConn::~PqConn() {
  clear_events();
  if (timer_ev_) event_free(timer_ev_);
  if (defer_ev_) event_free(defer_ev_);
  if (conn_) PQfinish(conn_);
}

void PqConn::clear_events() {
  if (sock_ev_) {
    event_free(sock_ev_);
    sock_ev_ = nullptr;
  }
  if (timer_ev_) evtimer_del(timer_ev_);
}

void PqConn::arm_timer() {
  timeval tv{static_cast<time_t>(timeout_ms_ / 1000),
             static_cast<suseconds_t>((timeout_ms_ % 1000) * 1000)};
  evtimer_add(timer_ev_, &tv);
}

void PqConn::wait_socket(short what) {
  if (sock_ev_) {
    event_free(sock_ev_);
    sock_ev_ = nullptr;
  }
  int fd = PQsocket(conn_);
  if (fd < 0) {
    fail("connection has no socket: " + clean_error(PQerrorMessage(conn_)));
    return;
  }
  sock_ev_ = event_new(base_, fd, what, &PqConn::on_socket, this);
  event_add(sock_ev_, nullptr);
}

void PqConn::defer_failure(const std::string& error) {
  deferred_error_ = error;
  timeval tv{0, 0};
  evtimer_add(defer_ev_, &tv);
}

void PqConn::on_deferred(int, short, void* arg) {
  auto* self = static_cast<PqConn*>(arg);
  self->fail(self->deferred_error_);
}

void PqConn::connect(ConnectFn cb) {
  connect_cb_ = std::move(cb);
  phase_ = Phase::connecting;
  std::vector<const char*> keys, vals;
  for (const auto& [k, v] : params_) {
    keys.push_back(k.c_str());
    vals.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  vals.push_back(nullptr);
  conn_ = PQconnectStartParams(keys.data(), vals.data(), 0);
  if (!conn_) {
    defer_failure("out of memory starting a connection");
    return;
  }
  PQsetNoticeProcessor(conn_, &quiet_notice, nullptr);
  if (PQstatus(conn_) == CONNECTION_BAD) {
    defer_failure(clean_error(PQerrorMessage(conn_)));
    return;
  }
  arm_timer();
  // Per libpq's documentation, start as if PQconnectPoll said "writing".
  wait_socket(EV_WRITE);
}

void PqConn::on_socket(int, short, void* arg) {
  auto* self = static_cast<PqConn*>(arg);
  switch (self->phase_) {
    case Phase::connecting:
      self->step_connect();
      break;
    case Phase::flushing:
      self->step_flush();
      break;
    case Phase::reading:
      self->step_read();
      break;
    case Phase::idle:
      break;
  }
}

void PqConn::on_timeout(int, short, void* arg) {
  auto* self = static_cast<PqConn*>(arg);
  const char* what = self->phase_ == Phase::connecting ? "connecting" : "waiting for a query";
  self->fail(std::string("timed out after ") + std::to_string(self->timeout_ms_) + " ms " + what);
}

void PqConn::step_connect() {
  switch (PQconnectPoll(conn_)) {
    case PGRES_POLLING_READING:
      wait_socket(EV_READ);
      return;
    case PGRES_POLLING_WRITING:
      wait_socket(EV_WRITE);
      return;
    case PGRES_POLLING_OK:
      PQsetnonblocking(conn_, 1);
      finish_connect("");
      return;
    case PGRES_POLLING_FAILED:
    default:
      fail(clean_error(PQerrorMessage(conn_)));
      return;
  }
}

void PqConn::finish_connect(const std::string& error) {
  clear_events();
  phase_ = Phase::idle;
  ConnectFn cb = std::move(connect_cb_);
  connect_cb_ = nullptr;
  if (cb) cb(error);  // may destroy *this
}

void PqConn::query(const std::string& sql, std::vector<std::string> params, QueryFn cb) {
  query_cb_ = std::move(cb);
  acc_ = QueryResult{};
  acc_.ok = true;
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    defer_failure("not connected");
    return;
  }
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                         values.empty() ? nullptr : values.data(), nullptr, nullptr, 0)) {
    defer_failure(clean_error(PQerrorMessage(conn_)));
    return;
  }
  arm_timer();
  phase_ = Phase::flushing;
  step_flush();
}

void PqConn::step_flush() {
  int r = PQflush(conn_);
  if (r < 0) {
    fail(clean_error(PQerrorMessage(conn_)));
  } else if (r > 0) {
    // Output still pending. Reading is also allowed (the server may be
    // sending us something, e.g. a notice, while waiting): consume it.
    if (!PQconsumeInput(conn_)) {
      fail(clean_error(PQerrorMessage(conn_)));
      return;
    }
    wait_socket(EV_WRITE | EV_READ);
  } else {
    phase_ = Phase::reading;
    step_read();
  }
}

void PqConn::step_read() {
  if (!PQconsumeInput(conn_)) {
    fail(clean_error(PQerrorMessage(conn_)));
    return;
  }
  while (!PQisBusy(conn_)) {
    PGresult* res = PQgetResult(conn_);
    if (!res) {
      finish_query(std::move(acc_));
      return;
    }
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_SINGLE_TUPLE) {
      int nf = PQnfields(res), nt = PQntuples(res);
      if (acc_.columns.empty())
        for (int c = 0; c < nf; ++c) acc_.columns.emplace_back(PQfname(res, c));
      for (int r = 0; r < nt; ++r) {
        std::vector<std::string> row;
        std::vector<bool> nulls;
        for (int c = 0; c < nf; ++c) {
          bool null = PQgetisnull(res, r, c);
          nulls.push_back(null);
          row.emplace_back(null ? "" : PQgetvalue(res, r, c));
        }
        acc_.rows.push_back(std::move(row));
        acc_.nulls.push_back(std::move(nulls));
      }
    } else if (st != PGRES_COMMAND_OK && st != PGRES_EMPTY_QUERY) {
      if (acc_.ok) {
        acc_.ok = false;
        acc_.error = clean_error(PQresultErrorMessage(res));
      }
    }
    PQclear(res);
  }
  wait_socket(EV_READ);
}

void PqConn::finish_query(QueryResult r) {
  clear_events();
  phase_ = Phase::idle;
  QueryFn cb = std::move(query_cb_);
  query_cb_ = nullptr;
  if (cb) cb(r);  // may destroy *this
}

void PqConn::fail(const std::string& error) {
  Phase was = phase_;
  clear_events();
  phase_ = Phase::idle;
  // The connection is in an unknown state (mid-query or mid-handshake):
  // close it so the server side ends too.
  if (conn_) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  if (was == Phase::connecting || connect_cb_) {
    ConnectFn cb = std::move(connect_cb_);
    connect_cb_ = nullptr;
    if (cb) cb(error);
    return;
  }
  QueryResult r;
  r.ok = false;
  r.error = error;
  QueryFn cb = std::move(query_cb_);
  query_cb_ = nullptr;
  if (cb) cb(r);
}

}  // namespace pw::pgctl
