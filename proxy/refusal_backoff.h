// proxy/refusal_backoff.h — how often new sessions may try a server that
// refused one with 57P03 (starting up, shutting down, hot_standby = off).
// Every attempt costs the server a fork before it refuses, so the pacing is
// per backend and shared by every held session on every proxy thread, not
// per session (pgbouncer's server_login_retry is the model; here clients
// are held instead of failed). After the first refusal the backend is
// "cooling" for `initial_ms`; then one session (the probe) may try while the
// others keep waiting; each refused probe doubles the wait up to `max_ms`.
// A session accepted by the server, or a route change, ends the backoff.
// Pure arithmetic on a monotonic time the caller passes; no lock (the
// caller's, see BackendStats).
#pragma once

#include <cstdint>

namespace pw::proxy {

struct BackoffPolicy {
  int64_t initial_ms = 250;  // first wait after a refusal
  int64_t max_ms = 2000;     // the wait stops doubling here
};

class RefusalBackoff {
 public:
  /// True while a refusal stands (no session was accepted since): the
  /// read-only port then prefers other replicas while cooling().
  bool active() const { return interval_ms_ > 0; }
  /// Whether a new session must not try this backend at `now_ms`.
  bool cooling(int64_t now_ms) const { return now_ms < next_ms_; }
  /// How long a new session must still wait (0: it may try now).
  int64_t wait_ms(int64_t now_ms) const { return now_ms < next_ms_ ? next_ms_ - now_ms : 0; }
  /// A session is about to try the backend: true if it may. While backing
  /// off, the first session after the wait is the probe, and everyone else
  /// waits one more interval for its answer.
  bool admit(int64_t now_ms);
  /// A session that started trying at `started_ms` was refused at `now_ms`.
  /// Only a refusal of an attempt made since the last escalation doubles
  /// the wait: a burst of sessions sent before the first refusal is one
  /// refusal, not one per session.
  void refused(int64_t started_ms, int64_t now_ms, const BackoffPolicy& p);
  /// The server accepted a session, or the route changed: no more waiting.
  void reset() { interval_ms_ = next_ms_ = since_ms_ = 0; }
  int64_t interval_ms() const { return interval_ms_; }

 private:
  int64_t interval_ms_ = 0;  // 0: not backing off
  int64_t next_ms_ = 0;      // no attempt before this (monotonic ms)
  int64_t since_ms_ = 0;     // when interval_ms_ was last set
};

}  // namespace pw::proxy
