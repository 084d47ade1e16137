// proxy/worker.h — one proxy thread: its own event_base, its listener
// socket(s), the route snapshot it forwards on, and the sessions it owns.
// Other threads talk to it only through post_route()/post_stop(), which put
// the message in a mailbox and write an eventfd; everything else is touched
// by the worker thread alone, so the byte path takes no lock.
#pragma once

#include <event2/event.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "proxy/counters.h"
#include "proxy/proxy.h"
#include "proxy/route_select.h"
#include "proxy/route_snapshot.h"

namespace pw::proxy {

struct Session;
struct CancelSender;

/// State shared by every proxy thread of one Proxy (read-mostly).
struct SharedState {
  ProxyOptions opts;
  BackendTable backends;
  HostTable hosts;  // backend host names resolved at start (ProxyOptions::backend_hosts)
  /// Admitted client connections per listener across all threads, for
  /// max_client_connections (touched once per connection, not per byte).
  std::atomic<uint32_t> admitted[2] = {0, 0};
};

class Worker {
 public:
  /// `listen_fds[k]` is the listener for ListenerKind k, or -1. The worker
  /// takes ownership of the fds.
  Worker(SharedState& shared, int index, int rw_fd, int ro_fd,
         std::shared_ptr<const RouteSnapshot> initial);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Creates the event_base and events; false + *err on failure.
  bool init(std::string* err);
  /// Starts the thread (after init).
  void start();
  /// Joins the thread (after post_stop()).
  void join();
  /// Any thread: hand over a new route and wake the worker.
  void post_route(std::shared_ptr<const RouteSnapshot> snap);
  /// Any thread: begin graceful shutdown (stop accepting, grace, close).
  void post_stop();

  // ---- state used by the session code (worker thread only) ----
  SharedState& sh;
  const ProxyOptions& opts;
  event_base* base = nullptr;
  uint8_t* scratch = nullptr;  // opts.io_chunk bytes, shared by all sessions
  ListenerStats stats[2];      // read by counters() on other threads
  std::shared_ptr<const RouteSnapshot> route;
  int64_t valid_until_ms = 0;  // route->route.valid_until_ms, cached
  uint64_t fwd_epoch = 0;      // route epoch if it has a primary, else 0
  Session* sessions = nullptr;  // every session (intrusive list)
  Session* held = nullptr;      // sessions waiting for a route
  Session* paused = nullptr;    // sessions paused on a stale route
  std::unordered_set<CancelSender*> cancels;
  uint64_t route_gen = 0;     // +1 per applied route
  uint64_t stale_logged = 0;  // route_gen whose staleness was logged
  uint64_t next_id = 1;
  bool stopping = false;
  int index = 0;
  /// The event backend reports a peer's close without a read (EV_CLOSED,
  /// epoll's EPOLLRDHUP): held sessions then notice a client that left.
  bool client_close_watchable = false;

  /// Called by the session code when a session ends during shutdown.
  void maybe_finish_stop();
  /// A session was just paused: make sure the pause_timeout timer runs.
  void paused_added();

 private:
  static void on_wake(evutil_socket_t fd, short what, void* arg);
  static void on_accept(evutil_socket_t fd, short what, void* arg);
  static void on_grace(evutil_socket_t fd, short what, void* arg);
  static void on_accept_resume(evutil_socket_t fd, short what, void* arg);
  static void on_pause_timer(evutil_socket_t fd, short what, void* arg);
  void apply_route(std::shared_ptr<const RouteSnapshot> snap);
  void begin_stop();
  void accept_some(ListenerKind kind);

  int listen_fd_[2] = {-1, -1};
  event* listen_ev_[2] = {nullptr, nullptr};
  int wake_fd_ = -1;
  event* wake_ev_ = nullptr;
  event* grace_ev_ = nullptr;
  event* accept_resume_ev_ = nullptr;  // re-enables accepting after EMFILE
  event* pause_ev_ = nullptr;          // ends sessions paused past pause_timeout_ms
  std::thread thread_;
  std::mutex mu_;  // guards the mailbox below
  std::shared_ptr<const RouteSnapshot> mailbox_;
  bool stop_requested_ = false;
  int64_t accept_error_log_ms_ = 0;
};

}  // namespace pw::proxy
