// api/view.cc — see view.h. The JSON bodies are nlohmann::ordered_json
// (base/json_io.h): keys come out in the order they are set here.
#include "api/view.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "base/json_io.h"

namespace pw::node {

std::vector<MemberRow> member_rows(const ClusterFacts& c) {
  const ClusterState& s = c.state;
  // The lock holder's LSN is the reference for everyone's lag, and only
  // while it reports a running read-write server: a stale or stopped
  // primary would make every replica look up to date.
  const MemberStatus* primary = nullptr;
  for (const MemberFacts& m : c.members)
    if (!s.primary.empty() && m.name == s.primary && m.seen && m.fresh && m.status.pg_running &&
        !m.status.in_recovery)
      primary = &m.status;

  std::vector<MemberRow> rows;
  rows.reserve(c.members.size());
  for (const MemberFacts& m : c.members) {
    MemberRow r;
    r.name = m.name;
    r.host = m.host;
    r.seen = m.seen;
    r.fresh = m.seen && m.fresh;
    r.reinit_pending = s.reinit.count(m.name) > 0;
    r.removing = !s.removing.empty() && s.removing == m.name;
    bool holder = !s.primary.empty() && m.name == s.primary;
    if (m.seen) {
      const MemberStatus& st = m.status;
      r.pg_running = st.pg_running;
      r.timeline = st.timeline;
      r.lsn = st.lsn;
      r.nofailover = st.nofailover;
      r.priority = st.priority;
      r.upstream = st.upstream;
      r.activity = st.agent_state;
      r.data = data_kind_name(st.data);
      r.data_reason = st.data_reason;
      r.last_error = st.last_error;
      r.version = st.version;
      r.pending_restart_known = st.pending_restart_known;
      r.pending_restart = st.pending_restart;
    }
    for (size_t i = 0; i < s.restarts.size(); ++i)
      if (s.restarts[i].member == m.name && r.restart_turn == 0) r.restart_turn = i + 1;
    if (!m.seen || !m.fresh) {
      r.role = holder ? "primary" : "unknown";
      r.state = m.seen ? "unreachable" : "unknown";
      r.pg_running = false;
    } else {
      const MemberStatus& st = m.status;
      if (holder) {
        r.role = "primary";
        if (!st.pg_running) r.state = "stopped";
        else if (st.in_recovery || s.ready_epoch != s.epoch) r.state = "promoting";
        else r.state = "running";
        if (st.pg_running) r.lag_bytes = 0;
      } else if (st.pg_running && st.in_recovery) {
        r.role = in_sync_set(s, m.name) ? "sync_standby" : c.synchronous_mode ? "async_standby" : "replica";
        r.state = st.streaming ? "streaming" : "running";
        if (primary) r.lag_bytes = primary->lsn > st.lsn ? primary->lsn - st.lsn : 0;
      } else if (st.pg_running) {
        r.role = "demoting";
        r.state = "running";
      } else {
        r.role = "stopped";
        r.state = "stopped";
      }
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

const MemberRow* find_row(const std::vector<MemberRow>& rows, const std::string& name) {
  for (const MemberRow& r : rows)
    if (r.name == name) return &r;
  return nullptr;
}

const char* init_state_name(InitKind k) {
  switch (k) {
    case InitKind::absent: return "absent";
    case InitKind::claimed: return "claimed";
    case InitKind::done: return "done";
  }
  return "unknown";
}

std::string format_lsn(uint64_t lsn) {
  char buf[32];
  snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32), static_cast<unsigned>(lsn & 0xffffffffu));
  return buf;
}

std::string format_wall_ms(int64_t wall_ms) {
  if (wall_ms <= 0) return "";
  time_t secs = static_cast<time_t>(wall_ms / 1000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[48];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
           t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(wall_ms % 1000));
  return buf;
}

std::string error_json(const std::string& message) {
  JsonOut doc;
  doc["error"] = message;
  return json_text(doc);
}

namespace {

// A value that may be unknown: null in the JSON rather than a made-up 0.
JsonOut or_null(const std::optional<uint64_t>& v) { return v ? JsonOut(*v) : JsonOut(nullptr); }

JsonOut row_json(const MemberRow& r) {
  JsonOut m;
  m["name"] = r.name;
  m["host"] = r.host;
  m["role"] = r.role;
  m["state"] = r.state;
  m["fresh"] = r.fresh;
  m["pg_running"] = r.pg_running;
  m["timeline"] = r.timeline;
  m["lsn"] = r.lsn;
  m["lsn_text"] = format_lsn(r.lsn);
  m["lag"] = or_null(r.lag_bytes);
  m["tags"]["nofailover"] = r.nofailover;
  m["tags"]["priority"] = r.priority;
  m["upstream"] = r.upstream;
  m["activity"] = r.activity;
  m["data"] = r.data;
  m["data_reason"] = r.data_reason;
  m["last_error"] = r.last_error;
  m["reinit_pending"] = r.reinit_pending;
  m["removing"] = r.removing;
  if (r.version.empty()) m["version"] = nullptr;
  else m["version"] = r.version;
  // null: not known (an older member), [] none pending.
  if (r.pending_restart_known) m["pending_restart"] = r.pending_restart;
  else m["pending_restart"] = nullptr;
  return m;
}

}  // namespace

std::string cluster_json(const ClusterFacts& c, const std::vector<MemberRow>& rows) {
  const ClusterState& s = c.state;
  JsonOut doc;
  doc["cluster"] = c.cluster_name;
  doc["self"] = c.self;
  doc["primary"] = s.primary;
  doc["epoch"] = s.epoch;
  doc["ready_epoch"] = s.ready_epoch;
  doc["timeline"] = s.ready_timeline;
  doc["max_timeline"] = s.max_timeline;
  doc["decider"] = c.decider;
  doc["raft_term"] = c.raft_term;
  JsonOut& init = doc["init"];
  init["state"] = init_state_name(s.init);
  init["node"] = s.init_node;
  // system identifiers exceed 2^53: a string, so JavaScript clients keep every digit
  init["system_id"] = std::to_string(s.system_id);
  init["failed_claimants"] = s.failed_claimants;  // a JSON array, [] when empty
  doc["paused"] = s.paused;
  if (s.switchover) {
    doc["switchover"]["from"] = s.switchover->first;
    doc["switchover"]["to"] = s.switchover->second;
  } else {
    doc["switchover"] = nullptr;
  }
  // Day two: what is scheduled (kept in the replicated state).
  JsonOut& sched = doc["scheduled"];
  if (s.scheduled_switchover) {
    sched["switchover"]["from"] = s.scheduled_switchover->from;
    sched["switchover"]["to"] = s.scheduled_switchover->to;
    sched["switchover"]["at"] = format_wall_ms(s.scheduled_switchover->at_ms);
  } else {
    sched["switchover"] = nullptr;
  }
  JsonOut& restarts = sched["restarts"] = JsonOut::array();
  for (const ScheduledRestart& x : s.restarts) {
    JsonOut& e = restarts.emplace_back();
    e["member"] = x.member;
    if (x.at_ms) e["at"] = format_wall_ms(x.at_ms);
    else e["at"] = nullptr;
    e["pending_only"] = x.pending_only;
  }
  doc["sync"] = s.sync;
  // Synchronous mode as committed (the quorum-commit rule) and as this node
  // is configured: what a failover needs right now.
  JsonOut& sync = doc["synchronous"];
  sync["mode"] = !c.synchronous_mode ? "off" : c.synchronous_mode_strict ? "strict" : "on";
  sync["node_count"] = static_cast<uint64_t>(c.synchronous_node_count);
  sync["set"] = s.sync;
  sync["acks"] = s.sync.empty() ? uint64_t{0} : static_cast<uint64_t>(sync_ack_count(s));
  sync["failover_needs"] = static_cast<uint64_t>(sync_needed(s));
  doc["failovers"] = s.failovers;
  doc["switchovers"] = s.switchovers;
  // `member remove` (two phases): the member marked for removal ("" = none)
  // and how the last removal ended.
  doc["removing"] = s.removing;
  doc["removal_note"] = s.removal_note;
  JsonOut& members = doc["members"] = JsonOut::array();
  for (const MemberRow& r : rows) members.push_back(row_json(r));
  JsonOut& diagnostics = doc["diagnostics"] = JsonOut::array();
  for (const Diagnostic& d : c.diagnostics) {
    JsonOut& x = diagnostics.emplace_back();
    x["code"] = d.code;
    x["message"] = d.message;
    x["action"] = d.action;
  }
  return json_text(doc);
}

std::string history_json(const ClusterState& s) {
  JsonOut doc = JsonOut::array();
  for (const HistoryEntry& h : s.history) {
    JsonOut& e = doc.emplace_back();
    e["epoch"] = h.epoch;
    e["node"] = h.node;
    e["timeline"] = h.timeline;
    e["lsn"] = h.lsn;
    e["lsn_text"] = format_lsn(h.lsn);
    e["time"] = format_wall_ms(h.wall_ms);
    e["reason"] = h.reason;
  }
  return json_text(doc);
}

namespace {

JsonOut listener_json(const proxy::ListenerCounters& l) {
  JsonOut o;
  o["sessions_now"] = l.sessions_now;
  o["sessions_total"] = l.sessions_total;
  o["held_now"] = l.held_now;
  o["held_total"] = l.held_total;
  o["paused_now"] = l.paused_now;
  o["paused_total"] = l.paused_total;
  o["bytes_client_to_server"] = l.bytes_client_to_server;
  o["bytes_server_to_client"] = l.bytes_server_to_client;
  o["refused"] = l.refused;
  o["hold_timeouts"] = l.hold_timeouts;
  o["startup_retries"] = l.startup_retries;
  o["closed_epoch_change"] = l.closed_epoch_change;
  o["closed_backend_removed"] = l.closed_backend_removed;
  o["client_errors"] = l.client_errors;
  o["cancel_requests"] = l.cancel_requests;
  o["backend_connect_total"] = l.backend_connect_total;
  o["backend_connect_errors"] = l.backend_connect_errors;
  o["backend_connect_us_sum"] = l.backend_connect_us_sum;
  return o;
}

}  // namespace

std::string proxy_json(const proxy::Counters& c) {
  JsonOut doc;
  doc["readwrite"] = listener_json(c.readwrite);
  doc["readonly"] = listener_json(c.readonly);
  JsonOut& backends = doc["backends"] = JsonOut::array();
  for (const proxy::BackendCounters& b : c.backends) {
    JsonOut& o = backends.emplace_back();
    o["host"] = b.host;
    o["port"] = b.port;
    o["sessions_now"] = b.sessions_now;
    o["sessions_total"] = b.sessions_total;
    o["bytes_client_to_server"] = b.bytes_client_to_server;
    o["bytes_server_to_client"] = b.bytes_server_to_client;
    o["connect_total"] = b.connect_total;
    o["connect_errors"] = b.connect_errors;
    o["connect_us_sum"] = b.connect_us_sum;
  }
  return json_text(doc);
}

}  // namespace pw::node
