// pgctl/pq_conn.h — one libpq connection driven entirely by libevent:
// PQconnectStartParams/PQconnectPoll to connect, PQsendQueryParams +
// PQflush/PQconsumeInput/PQgetResult to query, each step waiting for its
// socket on the event_base; never a blocking libpq call on the loop.
// Every step has a deadline; on expiry the connection is closed (the server
// side is bounded by the statement_timeout callers put in `options`).
//
// SQL text is never logged here: some statements carry secrets (a password
// verifier), so callers log what they did in their own words.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

struct event_base;
struct event;
typedef struct pg_conn PGconn;

namespace pw::pgctl {

struct QueryResult {
  bool ok = false;
  std::string error;  // when !ok
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;  // text values; NULL → ""
  std::vector<std::vector<bool>> nulls;
  bool is_null(size_t r, size_t c) const { return nulls[r][c]; }
  const std::string& at(size_t r, size_t c) const { return rows[r][c]; }
};

class PqConn {
 public:
  using Params = std::vector<std::pair<std::string, std::string>>;
  using ConnectFn = std::function<void(const std::string& error)>;  // "" on success
  using QueryFn = std::function<void(const QueryResult&)>;

  /// `timeout_ms` bounds the connection attempt and each query.
  PqConn(event_base* base, Params params, int64_t timeout_ms);
  /// Closes the connection; a pending callback is dropped.
  ~PqConn();
  PqConn(const PqConn&) = delete;
  PqConn& operator=(const PqConn&) = delete;

  /// Connects; `cb` runs on the loop (never inside this call).
  void connect(ConnectFn cb);
  /// Runs one statement with text parameters ($1, $2, ...); one query at a
  /// time. `cb` runs on the loop; it may destroy this object.
  void query(const std::string& sql, std::vector<std::string> params, QueryFn cb);
  /// The underlying connection (connected state), e.g. for PQescapeLiteral.
  PGconn* pg() const { return conn_; }

 private:
  enum class Phase { idle, connecting, flushing, reading };
  static void on_socket(int fd, short what, void* arg);
  static void on_timeout(int fd, short what, void* arg);
  static void on_deferred(int fd, short what, void* arg);
  void wait_socket(short what);
  void arm_timer();
  void step_connect();
  void step_flush();
  void step_read();
  void finish_connect(const std::string& error);
  void finish_query(QueryResult r);
  void fail(const std::string& error);
  void defer_failure(const std::string& error);
  void clear_events();

  event_base* base_;
  Params params_;
  int64_t timeout_ms_;
  PGconn* conn_ = nullptr;
  Phase phase_ = Phase::idle;
  event* sock_ev_ = nullptr;
  event* timer_ev_ = nullptr;
  event* defer_ev_ = nullptr;
  std::string deferred_error_;
  ConnectFn connect_cb_;
  QueryFn query_cb_;
  QueryResult acc_;
};

/// Connection parameters for the local server over its unix socket, as the
/// superuser (peer authentication), with a server-side statement_timeout.
PqConn::Params local_params(const std::string& socket_dir, uint16_t port, const std::string& user,
                            int64_t statement_timeout_ms,
                            const std::string& application_name = "pgwarden");

}  // namespace pw::pgctl
