// proxy/counters.h — the live counters behind Proxy::counters(). Listener
// counters live per proxy thread and have a single writer (that thread), so
// bumping one is a plain load+store, no locked instruction on the byte path;
// backend counters are shared by all threads (atomic adds). Readers on other
// threads see relaxed, consistent-enough values.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/proxy.h"
#include "proxy/refusal_backoff.h"

namespace pw::proxy {

using Counter = std::atomic<uint64_t>;

/// Single-writer increment: only the owning thread calls this.
inline void bump(Counter& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline void drop(Counter& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
}

/// One listener's counters on one proxy thread (fields mirror ListenerCounters).
struct ListenerStats {
  Counter sessions_now{0}, sessions_total{0}, held_now{0}, held_total{0};
  Counter bytes_c2s{0}, bytes_s2c{0}, refused{0}, hold_timeouts{0}, closed_epoch_change{0};
  Counter connect_errors{0}, connect_total{0}, connect_us_sum{0};
  Counter paused_now{0}, paused_total{0}, closed_backend_removed{0}, client_errors{0}, cancel_requests{0};
  Counter queued_bytes_now{0}, closed_pause_timeout{0}, startup_retries{0};
  void add_to(ListenerCounters& out) const;
};

/// One backend (host:port); shared by all threads, never freed before the Proxy.
struct BackendStats {
  explicit BackendStats(const Backend& b) : id{b.host, b.port, 0} {}
  const Backend id;  // lag_bytes unused here
  Counter sessions_now{0}, sessions_total{0}, bytes_c2s{0}, bytes_s2c{0};
  Counter connect_errors{0}, connect_total{0}, connect_us_sum{0};
  /// Last connect attempt failed: logs say so once per change, not per try.
  std::atomic<bool> failing{false};
  /// Last session start was refused with 57P03 (logged once per change).
  std::atomic<bool> refusing{false};
  /// Last published route could not address it (route_snapshot.cc logs once).
  std::atomic<bool> unresolvable{false};
  void add(Counter& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  void sub(Counter& c, uint64_t n = 1) { c.fetch_sub(n, std::memory_order_relaxed); }

  // Pacing of new sessions after a 57P03 refusal (refusal_backoff.h), shared
  // by every proxy thread. Touched when a session is routed or refused,
  // never on the byte path; `backing_off` spares the lock in the usual case.
  bool cooling(int64_t now_ms);
  /// 0: a new session may try now (it may be the probe); else ms to wait.
  int64_t admit(int64_t now_ms);
  void refused(int64_t started_ms, int64_t now_ms, const BackoffPolicy& p, const std::string& message);
  /// Accepted a session, or the route changed: ends the backoff.
  void backoff_reset();
  /// The last refusal's text, for clients whose hold ends while cooling.
  std::string refusal_message();

 private:
  std::atomic<bool> backing_off_{false};
  std::mutex backoff_mu_;
  RefusalBackoff backoff_;
  std::string refusal_message_;
};

/// Every backend ever named by a route, keyed by host:port. Looked up only
/// when a route is published (control thread), never on the byte path.
class BackendTable {
 public:
  BackendStats* get(const Backend& b);
  void snapshot(std::vector<BackendCounters>& out) const;
  /// The route changed: every backend gets a fresh chance (refusal_backoff.h).
  void reset_backoffs();

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<BackendStats>> map_;
};

}  // namespace pw::proxy
