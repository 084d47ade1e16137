// api/health.cc — the Patroni-compatible health endpoints. Load
// balancers read only the status code (HAProxy: `option httpchk OPTIONS
// /primary`), so the codes follow Patroni's rules; the JSON body mirrors
// Patroni's fields so scripts that parse it keep working, plus a
// "pgwarden" object with what Patroni has no words for (epoch, lease).
#include <algorithm>

#include "api/handlers.h"
#include "api/view.h"
#include "base/json_io.h"
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
  // Synchronous mode: a member of the committed synchronous set may hold
  // acknowledged commits the others lack; the rest stream asynchronously.
  const bool sync_member = in_sync_set(c.state, c.self);
  bool ok = false;
  switch (kind) {
    case Health::primary: ok = primary; break;
    case Health::replica: ok = streaming_replica && lag_ok; break;
    case Health::read_only: ok = primary || (streaming_replica && lag_ok); break;
    case Health::health: ok = pg.running; break;
    case Health::liveness: ok = true; break;  // the control loop answered: it is alive
    case Health::readiness: ok = primary || streaming_replica; break;
    case Health::status: ok = true; break;
    case Health::sync: ok = streaming_replica && sync_member && lag_ok; break;
    case Health::async: ok = streaming_replica && !sync_member && lag_ok; break;
  }

  // The role is what PostgreSQL is, when it runs; otherwise what this node
  // is meant to be (lock holder or not), as Patroni reports it.
  std::string role = pg.running ? (pg.in_recovery ? "replica" : "primary")
                                : (c.state.primary == c.self ? "primary" : "replica");
  JsonOut doc;
  doc["state"] = pg.running ? "running" : "stopped";
  doc["role"] = role;
  if (pg.server_version) doc["server_version"] = static_cast<uint64_t>(pg.server_version);
  if (pg.running && pg.timeline) doc["timeline"] = static_cast<uint64_t>(pg.timeline);
  if (pg.running) {
    JsonOut& xlog = doc["xlog"] = JsonOut::object();
    if (pg.in_recovery) {
      xlog["received_location"] = pg.receive_lsn;
      xlog["replayed_location"] = pg.replay_lsn;
      xlog["replayed_timestamp"] = nullptr;
      xlog["paused"] = false;
    } else {
      xlog["location"] = pg.current_lsn;
    }
    if (!pg.in_recovery) {
      JsonOut& replication = doc["replication"] = JsonOut::array();
      for (const auto& sb : pg.standbys) {
        JsonOut& x = replication.emplace_back();
        x["application_name"] = sb.application_name;
        x["client_addr"] = sb.client_addr;
        x["state"] = sb.state;
        x["sync_state"] = sb.sync_state;
        x["replay_lsn"] = sb.replay_lsn;
      }
    }
  }
  doc["cluster_unlocked"] = c.state.primary.empty();
  if (c.state.paused) doc["pause"] = true;
  if (c.state.system_id) doc["database_system_identifier"] = std::to_string(c.state.system_id);
  JsonOut& patroni = doc["patroni"];
  patroni["version"] = PGWARDEN_VERSION;
  patroni["scope"] = c.cluster_name;
  patroni["name"] = c.self;
  JsonOut& own = doc["pgwarden"];  // what Patroni has no words for
  own["version"] = PGWARDEN_VERSION;
  own["cluster"] = c.cluster_name;
  own["name"] = c.self;
  own["primary"] = c.state.primary;
  own["epoch"] = c.state.epoch;
  own["decider"] = c.decider;
  own["lease_held"] = h.holds_lease;
  own["lease_remaining_ms"] = h.lease_remaining_ms;
  own["ready_as_primary"] = h.ready_as_primary;
  own["streaming"] = streaming_replica;
  own["sync_standby"] = streaming_replica && sync_member;
  own["lag"] = lag ? JsonOut(*lag) : JsonOut(nullptr);
  if (max_lag) own["max_lag"] = *max_lag;
  own["agent_state"] = h.agent_state;
  if (!pg.running && !pg.error.empty()) own["postgres_error"] = pg.error;

  ApiResponse r;
  r.status = ok ? 200 : 503;
  r.body = json_text(doc);
  return r;
}

}  // namespace pw::node
