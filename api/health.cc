// api/health.cc — the Patroni-compatible health endpoints. Load
// balancers read only the status code (HAProxy: `option httpchk OPTIONS
// /primary`), so the codes follow Patroni's rules; the JSON body mirrors
// Patroni's fields so scripts that parse it keep working, plus a
// "pgwarden" object with what Patroni has no words for (epoch, lease).
#include "api/handlers.h"
#include "api/view.h"
#include "base/json.h"
#include "conf/values.h"

#ifndef PGWARDEN_VERSION
#define PGWARDEN_VERSION "unknown"
#endif

namespace pw::node {

ApiResponse ApiHandlers::health(Health kind, const ApiRequest& req) {
  // ?lag=1MB (or bytes) on /replica and /read-only: a standby further
  // behind the primary than that is not healthy; unknown lag (no fresh
  // primary status) fails the check, as a balancer should not guess.
  std::optional<uint64_t> max_lag;
  for (const auto& [k, v] : parse_query(req.query)) {
    if (k != "lag") continue;
    conf::Parsed<uint64_t> p = conf::parse_size_bytes(v);
    if (!p.value) {
      ApiResponse r;
      r.status = 400;
      r.body = error_json("bad lag value '" + v + "': " + p.error);
      return r;
    }
    max_lag = *p.value;
  }

  HealthFacts h = backend_->health();
  ClusterFacts c = backend_->cluster();
  std::vector<MemberRow> rows = member_rows(c);
  const MemberRow* self = find_row(rows, c.self);
  std::optional<uint64_t> lag = self ? self->lag_bytes : std::nullopt;
  const pgctl::Status& pg = h.pg;

  bool primary = h.ready_as_primary;
  bool streaming_replica = pg.running && pg.in_recovery && pg.wal_receiver_streaming;
  bool lag_ok = !max_lag || (lag && *lag <= *max_lag);
  bool ok = false;
  switch (kind) {
    case Health::primary: ok = primary; break;
    case Health::replica: ok = streaming_replica && lag_ok; break;
    case Health::read_only: ok = primary || (streaming_replica && lag_ok); break;
    case Health::health: ok = pg.running; break;
    case Health::liveness: ok = true; break;  // the control loop answered: it is alive
    case Health::readiness: ok = primary || streaming_replica; break;
    case Health::status: ok = true; break;
  }

  // The role is what PostgreSQL is, when it runs; otherwise what this node
  // is meant to be (lock holder or not), as Patroni reports it.
  std::string role = pg.running ? (pg.in_recovery ? "replica" : "primary")
                                : (c.state.primary == c.self ? "primary" : "replica");
  JsonWriter w;
  w.begin_object();
  w.field("state", pg.running ? "running" : "stopped");
  w.field("role", role);
  if (pg.server_version) w.field("server_version", static_cast<uint64_t>(pg.server_version));
  if (pg.running && pg.timeline) w.field("timeline", static_cast<uint64_t>(pg.timeline));
  if (pg.running) {
    w.key("xlog").begin_object();
    if (pg.in_recovery) {
      w.field("received_location", pg.receive_lsn).field("replayed_location", pg.replay_lsn);
      w.null_field("replayed_timestamp").field("paused", false);
    } else {
      w.field("location", pg.current_lsn);
    }
    w.end_object();
    if (!pg.in_recovery) {
      w.key("replication").begin_array();
      for (const auto& sb : pg.standbys) {
        w.begin_object().field("application_name", sb.application_name).field("client_addr", sb.client_addr);
        w.field("state", sb.state).field("sync_state", sb.sync_state).field("replay_lsn", sb.replay_lsn);
        w.end_object();
      }
      w.end_array();
    }
  }
  w.field("cluster_unlocked", c.state.primary.empty());
  if (c.state.paused) w.field("pause", true);
  if (c.state.system_id) w.field("database_system_identifier", std::to_string(c.state.system_id));
  w.key("patroni").begin_object().field("version", PGWARDEN_VERSION).field("scope", c.cluster_name);
  w.field("name", c.self).end_object();
  w.key("pgwarden").begin_object();
  w.field("version", PGWARDEN_VERSION).field("cluster", c.cluster_name).field("name", c.self);
  w.field("primary", c.state.primary).field("epoch", c.state.epoch).field("decider", c.decider);
  w.field("lease_held", h.holds_lease).field("lease_remaining_ms", h.lease_remaining_ms);
  w.field("ready_as_primary", h.ready_as_primary).field("streaming", streaming_replica);
  if (lag) w.field("lag", *lag);
  else w.null_field("lag");
  if (max_lag) w.field("max_lag", *max_lag);
  w.field("agent_state", h.agent_state);
  if (!pg.running && !pg.error.empty()) w.field("postgres_error", pg.error);
  w.end_object();
  w.end_object();

  ApiResponse r;
  r.status = ok ? 200 : 503;
  r.body = w.take();
  return r;
}

}  // namespace pw::node
