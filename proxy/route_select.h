// proxy/route_select.h — the routing decisions, as pure functions of a Route,
// the time and the current load (no sockets, no clock reads), so that tests
// can drive them directly. The event-loop code only applies their verdicts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "proxy/route.h"

namespace pw::proxy {

enum class ListenerKind : uint8_t { readwrite = 0, readonly = 1 };

/// Where a new session on a listener goes. `replica` = -1 means the primary.
struct Pick {
  bool ok = false;
  int replica = -1;
  const char* why = "";  // when !ok: why the connection is held
};

/// True when the route may be used for forwarding at `now_ms` (I3: only
/// before valid_until on the monotonic clock).
inline bool route_fresh(const Route& r, int64_t now_ms) { return now_ms < r.valid_until_ms; }

/// For log lines: how long the route stays valid after `now_ms`
/// ("valid_for_ms=1200", negative once expired), or "-" when it never had a
/// validity (valid_until_ms 0: no primary, e.g. right after bootstrap) — not
/// a meaningless -<uptime>.
std::string format_valid_for_ms(const Route& r, int64_t now_ms);
/// The other side, for "stale_for_ms=": how long ago it expired, or "-".
std::string format_stale_for_ms(const Route& r, int64_t now_ms);

/// What the caller knows of the route's backends right now; index i is
/// r.replicas[i]. A backend is *cooling* while it must not be tried after
/// refusing a session with 57P03 (refusal_backoff.h).
struct BackendLoad {
  const uint64_t* replica_sessions = nullptr;  // sessions per replica (least connections)
  const bool* replica_cooling = nullptr;       // nullptr: none cooling
  bool primary_cooling = false;
};

/// Chooses the backend for a new session. Read-write: the primary of a fresh
/// route (cooling or not: the caller holds the session until it may try).
/// Read-only, among the replicas with lag <= max_lag: the one with the
/// fewest sessions that is not cooling (ties: first listed), else the
/// primary when `fallback` and it is not cooling, else the least loaded
/// cooling replica (a replica refusing sessions has few, so plain
/// least-connections would send everyone to it), else the cooling primary
/// when `fallback`. Not ok (hold the client) when nothing qualifies.
Pick pick_backend(const Route& r, ListenerKind kind, int64_t now_ms, uint64_t max_lag, bool fallback,
                  const BackendLoad& load);

/// The close reason judge_session() gives for an epoch change (compared by
/// pointer to count epoch-change closes separately).
inline constexpr char kReasonEpochChanged[] = "backend epoch changed";

/// What a running session must do when the route changes or expires.
enum class Verdict : uint8_t { keep, pause, close };

/// The backend a session is bound to, as far as routing is concerned.
struct Binding {
  bool to_primary = true;  // false: bound to a replica (read-only listener)
  uint64_t epoch = 0;      // route epoch at connect time
  const Backend* backend = nullptr;
};

/// DESIGN I3 for one session: a session to a primary closes when the route
/// names another epoch (epoch 0 carries no epoch information and only pauses)
/// or the primary moved; a replica session closes when its replica left the
/// route. Otherwise it pauses while the route is stale or has no primary for
/// its epoch, and keeps (or resumes) forwarding when it is fresh again.
/// `*reason` receives the close/pause reason.
Verdict judge_session(const Route& r, const Binding& b, int64_t now_ms, const char** reason);

}  // namespace pw::proxy
