// proxy/route_select.cc — see route_select.h.
#include "proxy/route_select.h"

namespace pw::proxy {

std::string format_valid_for_ms(const Route& r, int64_t now_ms) {
  return r.valid_until_ms <= 0 ? "-" : std::to_string(r.valid_until_ms - now_ms);
}

std::string format_stale_for_ms(const Route& r, int64_t now_ms) {
  return r.valid_until_ms <= 0 ? "-" : std::to_string(now_ms - r.valid_until_ms);
}

Pick pick_backend(const Route& r, ListenerKind kind, int64_t now_ms, uint64_t max_lag, bool fallback,
                  const BackendLoad& load) {
  Pick p;
  if (!route_fresh(r, now_ms)) {
    // A route with a primary that merely expired says so; one without a
    // primary carries the control plane's own reason.
    p.why = r.has_primary || r.unavailable_reason.empty() ? "route expired (no fresh view of the cluster)"
                                                          : r.unavailable_reason.c_str();
    return p;
  }
  bool primary_ok = r.has_primary && !r.hold_new;
  if (kind == ListenerKind::readonly) {
    int best = -1, best_cooling = -1;
    for (size_t i = 0; i < r.replicas.size(); ++i) {
      if (r.replicas[i].lag_bytes > max_lag) continue;
      int& slot = load.replica_cooling && load.replica_cooling[i] ? best_cooling : best;
      if (slot < 0 || load.replica_sessions[i] < load.replica_sessions[slot]) slot = static_cast<int>(i);
    }
    int pick = best;
    if (pick < 0 && !(fallback && primary_ok && !load.primary_cooling)) pick = best_cooling;
    if (pick >= 0) {
      p.ok = true;
      p.replica = pick;
      return p;
    }
    if (!fallback) {
      p.why = "no replica within the lag limit";
      return p;
    }
  }
  if (!primary_ok) {
    p.why = r.unavailable_reason.empty() ? "no primary" : r.unavailable_reason.c_str();
    return p;
  }
  p.ok = true;
  p.replica = -1;
  return p;
}

Verdict judge_session(const Route& r, const Binding& b, int64_t now_ms, const char** reason) {
  if (b.to_primary) {
    if (r.epoch != 0 && r.epoch != b.epoch) {
      *reason = kReasonEpochChanged;
      return Verdict::close;
    }
    if (r.epoch == b.epoch && r.has_primary && b.backend && !(r.primary.host == b.backend->host &&
                                                              r.primary.port == b.backend->port)) {
      *reason = "primary address changed";
      return Verdict::close;
    }
    if (!r.has_primary || r.epoch != b.epoch) {
      *reason = "route has no primary for the session's epoch";
      return Verdict::pause;
    }
  } else if (r.epoch != 0 && b.backend) {
    bool listed = r.has_primary && r.primary.host == b.backend->host && r.primary.port == b.backend->port;
    for (const Backend& rep : r.replicas)
      if (rep.host == b.backend->host && rep.port == b.backend->port) listed = true;
    if (!listed) {
      *reason = "replica removed from route";
      return Verdict::close;
    }
  }
  if (!route_fresh(r, now_ms)) {
    *reason = "route stale";
    return Verdict::pause;
  }
  *reason = "";
  return Verdict::keep;
}

}  // namespace pw::proxy
