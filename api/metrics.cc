// api/metrics.cc — see api_metrics.h. Gauges describe "now", counters
// only grow (until the process restarts); counter names end in _total.
#include "api/metrics.h"

#include <string>

#include "api/prometheus.h"

#ifndef PGWARDEN_VERSION
#define PGWARDEN_VERSION "unknown"
#endif

namespace pw::node {

namespace {

void cluster_metrics(PromWriter& p, const MetricsInput& in) {
  const ClusterFacts& c = *in.cluster;
  const ClusterState& s = c.state;
  p.family("pgwarden_info", "gauge", "Always 1; labels name the version, cluster and this member");
  p.sample("pgwarden_info", uint64_t{1}, {{"version", PGWARDEN_VERSION}, {"cluster", c.cluster_name}, {"member", c.self}});
  p.gauge("pgwarden_epoch", "Fencing epoch of the current primary lock (+1 on every change of holder)", s.epoch);
  p.gauge("pgwarden_ready_epoch", "Epoch whose primary finished promotion and accepts writes", s.ready_epoch);
  p.gauge("pgwarden_cluster_initialized", "1 when the cluster is bootstrapped (init = done)", s.init == InitKind::done);
  p.gauge("pgwarden_cluster_paused", "1 in maintenance mode (no automatic failover)", s.paused);
  p.gauge("pgwarden_switchover_pending", "1 while a planned switchover is in progress", s.switchover.has_value());
  p.family("pgwarden_primary", "gauge", "1 for the member holding the primary lock");
  if (!s.primary.empty()) p.sample("pgwarden_primary", uint64_t{1}, {{"member", s.primary}});
  p.counter("pgwarden_failovers_total", "Automatic and manual failovers committed in this cluster", s.failovers);
  p.counter("pgwarden_switchovers_total", "Planned switchovers committed in this cluster", s.switchovers);

  p.family("pgwarden_member_up", "gauge", "1 when the member's status is fresh and its PostgreSQL runs");
  for (const MemberRow& r : *in.rows) p.sample("pgwarden_member_up", r.fresh && r.pg_running, {{"member", r.name}});
  p.family("pgwarden_member_role", "gauge", "1 for each member's current role as seen by this node");
  for (const MemberRow& r : *in.rows)
    p.sample("pgwarden_member_role", uint64_t{1}, {{"member", r.name}, {"role", r.role}});
  p.family("pgwarden_member_timeline", "gauge", "PostgreSQL timeline each member last reported");
  for (const MemberRow& r : *in.rows)
    if (r.seen) p.sample("pgwarden_member_timeline", static_cast<uint64_t>(r.timeline), {{"member", r.name}});
  p.family("pgwarden_member_lag_bytes", "gauge", "Bytes of WAL each running member is behind the primary (when known)");
  for (const MemberRow& r : *in.rows)
    if (r.lag_bytes) p.sample("pgwarden_member_lag_bytes", *r.lag_bytes, {{"member", r.name}});

  p.family("pgwarden_member_pending_restart", "gauge",
           "1 when the member's PostgreSQL has settings waiting for a restart (pg_settings.pending_restart)");
  for (const MemberRow& r : *in.rows)
    if (r.seen && r.pending_restart_known)
      p.sample("pgwarden_member_pending_restart", uint64_t{r.pending_restart.empty() ? 0u : 1u}, {{"member", r.name}});
  p.gauge("pgwarden_restarts_scheduled", "Members waiting for their turn in a scheduled or rolling restart",
          static_cast<uint64_t>(s.restarts.size()));
  p.gauge("pgwarden_switchover_scheduled", "1 while a switchover is scheduled", s.scheduled_switchover.has_value());
  p.gauge("pgwarden_diagnostics", "Number of active diagnostics (conditions blocking progress)",
          static_cast<uint64_t>(c.diagnostics.size()));
  p.family("pgwarden_diagnostic", "gauge", "1 for each active diagnostic, by code (see GET /cluster for the text)");
  for (const Diagnostic& d : c.diagnostics) p.sample("pgwarden_diagnostic", uint64_t{1}, {{"code", d.code}});
}

void raft_metrics(PromWriter& p, const MetricsInput& in) {
  const RaftFacts& r = *in.raft;
  p.gauge("pgwarden_raft_running", "1 once the raft node is open and started", r.running);
  p.gauge("pgwarden_raft_term", "Current raft term", r.term);
  p.gauge("pgwarden_raft_is_leader", "1 when this node is the raft leader (the decider)", r.is_leader);
  p.gauge("pgwarden_raft_leader_id", "Raft id of the leader this node follows (0 = unknown)", r.leader_id);
  p.family("pgwarden_raft_leader", "gauge", "1 for the member this node believes is the raft leader");
  if (!in.cluster->decider.empty()) p.sample("pgwarden_raft_leader", uint64_t{1}, {{"member", in.cluster->decider}});
  p.gauge("pgwarden_raft_commit_index", "Highest raft log index known committed", r.commit_index);
  p.gauge("pgwarden_raft_applied_index", "Highest raft log index applied to the cluster state", r.applied_index);
}

void postgres_metrics(PromWriter& p, const MetricsInput& in) {
  const HealthFacts& h = *in.health;
  const pgctl::Status& pg = h.pg;
  p.gauge("pgwarden_lease_held", "1 while this node holds an unexpired primary lease", h.holds_lease);
  p.gauge("pgwarden_lease_remaining_seconds", "Seconds left on this node's lease (0 when not held)",
          static_cast<double>(h.lease_remaining_ms) / 1000.0);
  p.gauge("pgwarden_postgres_running", "1 when the local PostgreSQL accepts connections", pg.running);
  p.gauge("pgwarden_postgres_primary", "1 when the local PostgreSQL is the ready primary (GET /primary is 200)",
          h.ready_as_primary);
  p.gauge("pgwarden_postgres_in_recovery", "1 when the local PostgreSQL runs as a standby", pg.running && pg.in_recovery);
  p.gauge("pgwarden_postgres_streaming", "1 when the local standby's WAL receiver is streaming",
          pg.running && pg.wal_receiver_streaming);
  p.gauge("pgwarden_postgres_timeline", "Timeline of the local PostgreSQL (0 when not running)",
          static_cast<uint64_t>(pg.running ? pg.timeline : 0));
  p.gauge("pgwarden_postgres_wal_lsn_bytes", "Primary: current WAL LSN; standby: last received LSN",
          pg.in_recovery ? pg.receive_lsn : pg.current_lsn);
  p.gauge("pgwarden_postgres_replay_lsn_bytes", "Standby: last replayed LSN", pg.replay_lsn);
  const MemberRow* self = find_row(*in.rows, in.cluster->self);
  p.family("pgwarden_postgres_lag_bytes", "gauge", "Bytes this node's PostgreSQL is behind the primary (when known)");
  if (self && self->lag_bytes) p.sample("pgwarden_postgres_lag_bytes", *self->lag_bytes);
}

void fencer_metrics(PromWriter& p, const FencerFacts& f) {
  p.gauge("pgwarden_fencer_up", "1 while the fencing process (DESIGN I2) runs; 0 when it died and could not be restarted",
          f.alive);
  p.counter("pgwarden_fencer_restarts_total", "Times the fencing process was found dead and restarted", f.restarts);
}

void listener_sample(PromWriter& p, const char* name, uint64_t rw, uint64_t ro) {
  p.sample(name, rw, {{"listener", "readwrite"}});
  p.sample(name, ro, {{"listener", "readonly"}});
}

void proxy_metrics(PromWriter& p, const proxy::Counters& c) {
  const proxy::ListenerCounters& a = c.readwrite;
  const proxy::ListenerCounters& b = c.readonly;
  p.family("pgwarden_proxy_sessions", "gauge", "Client sessions forwarding now");
  listener_sample(p, "pgwarden_proxy_sessions", a.sessions_now, b.sessions_now);
  p.family("pgwarden_proxy_sessions_total", "counter", "Client sessions started");
  listener_sample(p, "pgwarden_proxy_sessions_total", a.sessions_total, b.sessions_total);
  p.family("pgwarden_proxy_held", "gauge", "New connections held now, waiting for a route");
  listener_sample(p, "pgwarden_proxy_held", a.held_now, b.held_now);
  p.family("pgwarden_proxy_held_total", "counter", "Connections ever held waiting for a route");
  listener_sample(p, "pgwarden_proxy_held_total", a.held_total, b.held_total);
  p.family("pgwarden_proxy_paused", "gauge", "Sessions paused now on a stale route");
  listener_sample(p, "pgwarden_proxy_paused", a.paused_now, b.paused_now);
  p.family("pgwarden_proxy_paused_total", "counter", "Sessions ever paused on a stale route");
  listener_sample(p, "pgwarden_proxy_paused_total", a.paused_total, b.paused_total);
  p.family("pgwarden_proxy_bytes_total", "counter", "Bytes forwarded, by direction");
  for (auto [l, lc] : {std::pair{"readwrite", &a}, std::pair{"readonly", &b}}) {
    p.sample("pgwarden_proxy_bytes_total", lc->bytes_client_to_server, {{"listener", l}, {"direction", "client_to_server"}});
    p.sample("pgwarden_proxy_bytes_total", lc->bytes_server_to_client, {{"listener", l}, {"direction", "server_to_client"}});
  }
  p.family("pgwarden_proxy_refused_total", "counter", "Connections refused over max_client_connections");
  listener_sample(p, "pgwarden_proxy_refused_total", a.refused, b.refused);
  p.family("pgwarden_proxy_hold_timeouts_total", "counter", "Held connections answered 57P03 after hold_timeout");
  listener_sample(p, "pgwarden_proxy_hold_timeouts_total", a.hold_timeouts, b.hold_timeouts);
  p.family("pgwarden_proxy_startup_retries_total", "counter",
           "Session starts a server refused with 57P03 (starting or shutting down), held and retried");
  listener_sample(p, "pgwarden_proxy_startup_retries_total", a.startup_retries, b.startup_retries);
  p.family("pgwarden_proxy_closed_total", "counter", "Sessions closed by the proxy, by reason");
  for (auto [l, lc] : {std::pair{"readwrite", &a}, std::pair{"readonly", &b}}) {
    p.sample("pgwarden_proxy_closed_total", lc->closed_epoch_change, {{"listener", l}, {"reason", "epoch_change"}});
    p.sample("pgwarden_proxy_closed_total", lc->closed_backend_removed, {{"listener", l}, {"reason", "backend_removed"}});
  }
  p.family("pgwarden_proxy_client_errors_total", "counter", "Client connections ended by a protocol error or reset");
  listener_sample(p, "pgwarden_proxy_client_errors_total", a.client_errors, b.client_errors);
  p.family("pgwarden_proxy_cancel_requests_total", "counter", "CancelRequests forwarded");
  listener_sample(p, "pgwarden_proxy_cancel_requests_total", a.cancel_requests, b.cancel_requests);
  p.family("pgwarden_proxy_connects_total", "counter", "Connections attempted to PostgreSQL backends");
  listener_sample(p, "pgwarden_proxy_connects_total", a.backend_connect_total, b.backend_connect_total);
  p.family("pgwarden_proxy_connect_errors_total", "counter", "Failed connections to PostgreSQL backends");
  listener_sample(p, "pgwarden_proxy_connect_errors_total", a.backend_connect_errors, b.backend_connect_errors);
  p.family("pgwarden_proxy_connect_seconds_total", "counter",
           "Sum of backend connect latencies (divide by pgwarden_proxy_connects_total for the mean)");
  p.sample("pgwarden_proxy_connect_seconds_total", static_cast<double>(a.backend_connect_us_sum) / 1e6,
           {{"listener", "readwrite"}});
  p.sample("pgwarden_proxy_connect_seconds_total", static_cast<double>(b.backend_connect_us_sum) / 1e6,
           {{"listener", "readonly"}});

  auto backend = [](const proxy::BackendCounters& bc) { return bc.host + ":" + std::to_string(bc.port); };
  p.family("pgwarden_proxy_backend_sessions", "gauge", "Sessions forwarding now to each backend");
  for (const auto& bc : c.backends) p.sample("pgwarden_proxy_backend_sessions", bc.sessions_now, {{"backend", backend(bc)}});
  p.family("pgwarden_proxy_backend_sessions_total", "counter", "Sessions ever forwarded to each backend");
  for (const auto& bc : c.backends)
    p.sample("pgwarden_proxy_backend_sessions_total", bc.sessions_total, {{"backend", backend(bc)}});
  p.family("pgwarden_proxy_backend_bytes_total", "counter", "Bytes forwarded to/from each backend");
  for (const auto& bc : c.backends) {
    p.sample("pgwarden_proxy_backend_bytes_total", bc.bytes_client_to_server,
             {{"backend", backend(bc)}, {"direction", "client_to_server"}});
    p.sample("pgwarden_proxy_backend_bytes_total", bc.bytes_server_to_client,
             {{"backend", backend(bc)}, {"direction", "server_to_client"}});
  }
  p.family("pgwarden_proxy_backend_connects_total", "counter", "Connections attempted to each backend");
  for (const auto& bc : c.backends)
    p.sample("pgwarden_proxy_backend_connects_total", bc.connect_total, {{"backend", backend(bc)}});
  p.family("pgwarden_proxy_backend_connect_errors_total", "counter", "Failed connections to each backend");
  for (const auto& bc : c.backends)
    p.sample("pgwarden_proxy_backend_connect_errors_total", bc.connect_errors, {{"backend", backend(bc)}});
}

}  // namespace

std::string metrics_text(const MetricsInput& in) {
  PromWriter p;
  cluster_metrics(p, in);
  raft_metrics(p, in);
  postgres_metrics(p, in);
  if (in.fencer && in.fencer->known) fencer_metrics(p, *in.fencer);
  if (in.proxy) proxy_metrics(p, *in.proxy);
  return p.take();
}

}  // namespace pw::node
