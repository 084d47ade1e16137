// proxy/proxy.h — the data plane: listeners, held connections, sessions
// (DESIGN §7). Owns its threads; publish() is the only call the control
// plane makes while it runs, and it never blocks on client traffic.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/route.h"

namespace pw::proxy {

struct ProxyOptions {
  std::string listen_address = "127.0.0.1";
  uint16_t port = 5432;               // read-write listener
  uint16_t readonly_port = 0;         // 0 = none
  int64_t hold_timeout_ms = 10000;
  /// How long a running session may stay paused on a stale route (I3) before
  /// it is ended: 57P03 if the client has not sent a byte yet, else closed.
  int64_t pause_timeout_ms = 10000;
  int64_t connect_timeout_ms = 2000;
  /// After a server refuses a new session with 57P03 (starting up, shutting
  /// down), new sessions to it wait startup_retry_initial_ms, then one tries
  /// while the rest keep waiting, the wait doubling up to
  /// startup_retry_max_ms: one pace per backend, shared by every held
  /// session and thread; reset when the server accepts a session or the
  /// route changes (docs/proxy.md).
  int64_t startup_retry_initial_ms = 250;
  int64_t startup_retry_max_ms = 2000;
  uint32_t max_client_connections = 10000;  // per listener
  uint64_t readonly_max_lag = 1ull << 20;
  bool readonly_fallback = true;
  int64_t shutdown_grace_ms = 5000;
  /// Proxy threads. >1: one SO_REUSEPORT listener per thread (the kernel
  /// spreads connections; a connection stays on one thread, so one client's
  /// latency does not change). 0 = one per CPU this process may run on.
  uint32_t threads = 1;
  /// Bytes read per syscall into the thread's shared scratch buffer; also the
  /// most a blocked session keeps per direction (backpressure bound).
  uint32_t io_chunk = 65536;
  /// Nice value for the proxy threads (best effort; needs CAP_SYS_NICE or
  /// RLIMIT_NICE, e.g. systemd AmbientCapabilities=CAP_SYS_NICE). One proxy
  /// thread multiplexes every client: on a saturated host it must not get
  /// the same CPU share as each single PostgreSQL backend it feeds.
  /// 0 = leave unchanged.
  int thread_nice = -5;
  /// Backend host names the routes may use (the members' hosts). Names
  /// (not IP literals) are resolved once, by start(), before any loop runs;
  /// publish() then never asks DNS, so the control loop cannot block on it.
  /// A route naming a host that is neither an IP literal nor listed here is
  /// unusable (its sessions are held and refused with the reason).
  std::vector<std::string> backend_hosts;
};

struct ListenerCounters {
  uint64_t sessions_now = 0, sessions_total = 0;
  uint64_t held_now = 0, held_total = 0;
  uint64_t bytes_client_to_server = 0, bytes_server_to_client = 0;
  uint64_t refused = 0;             // over max_client_connections
  uint64_t hold_timeouts = 0;       // answered 57P03
  uint64_t closed_epoch_change = 0;
  uint64_t backend_connect_errors = 0;
  uint64_t backend_connect_total = 0;
  uint64_t backend_connect_us_sum = 0;  // mean latency = sum / total
  // Added by the proxy implementation:
  uint64_t paused_now = 0, paused_total = 0;  // sessions stopped on a stale route (I3)
  uint64_t closed_backend_removed = 0;        // replica left the route / primary moved
  uint64_t client_errors = 0;                 // bad first packet, resets, garbage
  uint64_t cancel_requests = 0;               // CancelRequests fanned out (read-only port)
  uint64_t queued_bytes_now = 0;  // read from one side, waiting for the other's socket (backpressure)
  uint64_t closed_pause_timeout = 0;  // paused longer than pause_timeout_ms
  uint64_t startup_retries = 0;  // a server answered 57P03 (starting/stopping): held and tried again
};

/// Per backend (host:port), summed over both listeners and all threads.
struct BackendCounters {
  std::string host;
  uint16_t port = 0;
  uint64_t sessions_now = 0, sessions_total = 0;
  uint64_t bytes_client_to_server = 0, bytes_server_to_client = 0;
  uint64_t connect_errors = 0, connect_total = 0, connect_us_sum = 0;
};

struct Counters {
  ListenerCounters readwrite, readonly;
  std::vector<BackendCounters> backends;  // every backend ever routed to
};

class Proxy {
 public:
  /// Binds the listeners (throws std::runtime_error naming address:port on
  /// failure) and starts the proxy thread(s).
  static std::unique_ptr<Proxy> start(const ProxyOptions& opts);
  virtual ~Proxy() = default;
  /// Atomically replaces the route and wakes the proxy threads. Thread-safe.
  virtual void publish(const Route& route) = 0;
  /// Stops accepting, lets sessions finish for shutdown_grace, then closes
  /// everything and joins the threads. Idempotent.
  virtual void shutdown() = 0;
  /// Consistent-enough snapshot of the counters (relaxed atomics). Thread-safe.
  virtual Counters counters() const = 0;
  /// The bound ports (useful when the options asked for port 0). 0 = none.
  virtual uint16_t port() const = 0;
  virtual uint16_t readonly_port() const = 0;
  /// Proxy threads running (ProxyOptions::threads, 0 resolved).
  virtual uint32_t threads() const = 0;
};

}  // namespace pw::proxy
