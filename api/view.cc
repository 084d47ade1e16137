// api/view.cc — see api_view.h.
#include "api/view.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

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
    }
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
        bool sync = std::find(s.sync.begin(), s.sync.end(), m.name) != s.sync.end();
        r.role = sync ? "sync_standby" : "replica";
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
  JsonWriter w;
  w.begin_object().field("error", message).end_object();
  return w.take();
}

namespace {

void write_row(JsonWriter& w, const MemberRow& r) {
  w.begin_object();
  w.field("name", r.name).field("host", r.host).field("role", r.role).field("state", r.state);
  w.field("fresh", r.fresh).field("pg_running", r.pg_running);
  w.field("timeline", r.timeline).field("lsn", r.lsn).field("lsn_text", format_lsn(r.lsn));
  if (r.lag_bytes) w.field("lag", *r.lag_bytes);
  else w.null_field("lag");
  w.key("tags").begin_object().field("nofailover", r.nofailover).field("priority", r.priority).end_object();
  w.field("upstream", r.upstream).field("activity", r.activity).field("data", r.data);
  w.field("data_reason", r.data_reason).field("last_error", r.last_error);
  w.field("reinit_pending", r.reinit_pending);
  w.end_object();
}

}  // namespace

std::string cluster_json(const ClusterFacts& c, const std::vector<MemberRow>& rows) {
  const ClusterState& s = c.state;
  JsonWriter w;
  w.begin_object();
  w.field("cluster", c.cluster_name).field("self", c.self);
  w.field("primary", s.primary).field("epoch", s.epoch).field("ready_epoch", s.ready_epoch);
  w.field("decider", c.decider).field("raft_term", c.raft_term);
  w.key("init").begin_object();
  w.field("state", init_state_name(s.init)).field("node", s.init_node);
  // system identifiers exceed 2^53: a string, so JavaScript clients keep every digit
  w.field("system_id", std::to_string(s.system_id));
  w.key("failed_claimants").begin_array();
  for (const std::string& n : s.failed_claimants) w.value(n);
  w.end_array().end_object();
  w.field("paused", s.paused);
  if (s.switchover) {
    w.key("switchover").begin_object().field("from", s.switchover->first).field("to", s.switchover->second);
    w.end_object();
  } else {
    w.null_field("switchover");
  }
  w.key("sync").begin_array();
  for (const std::string& n : s.sync) w.value(n);
  w.end_array();
  w.field("failovers", s.failovers).field("switchovers", s.switchovers);
  w.key("members").begin_array();
  for (const MemberRow& r : rows) write_row(w, r);
  w.end_array();
  w.key("diagnostics").begin_array();
  for (const Diagnostic& d : c.diagnostics)
    w.begin_object().field("code", d.code).field("message", d.message).field("action", d.action).end_object();
  w.end_array();
  w.end_object();
  return w.take();
}

std::string history_json(const ClusterState& s) {
  JsonWriter w;
  w.begin_array();
  for (const HistoryEntry& h : s.history) {
    w.begin_object();
    w.field("epoch", h.epoch).field("node", h.node).field("timeline", h.timeline);
    w.field("lsn", h.lsn).field("lsn_text", format_lsn(h.lsn));
    w.field("time", format_wall_ms(h.wall_ms)).field("reason", h.reason);
    w.end_object();
  }
  w.end_array();
  return w.take();
}

namespace {

void write_listener(JsonWriter& w, const proxy::ListenerCounters& l) {
  w.begin_object();
  w.field("sessions_now", l.sessions_now).field("sessions_total", l.sessions_total);
  w.field("held_now", l.held_now).field("held_total", l.held_total);
  w.field("paused_now", l.paused_now).field("paused_total", l.paused_total);
  w.field("bytes_client_to_server", l.bytes_client_to_server);
  w.field("bytes_server_to_client", l.bytes_server_to_client);
  w.field("refused", l.refused).field("hold_timeouts", l.hold_timeouts).field("startup_retries", l.startup_retries);
  w.field("closed_epoch_change", l.closed_epoch_change).field("closed_backend_removed", l.closed_backend_removed);
  w.field("client_errors", l.client_errors).field("cancel_requests", l.cancel_requests);
  w.field("backend_connect_total", l.backend_connect_total);
  w.field("backend_connect_errors", l.backend_connect_errors);
  w.field("backend_connect_us_sum", l.backend_connect_us_sum);
  w.end_object();
}

}  // namespace

std::string proxy_json(const proxy::Counters& c) {
  JsonWriter w;
  w.begin_object();
  w.key("readwrite");
  write_listener(w, c.readwrite);
  w.key("readonly");
  write_listener(w, c.readonly);
  w.key("backends").begin_array();
  for (const proxy::BackendCounters& b : c.backends) {
    w.begin_object();
    w.field("host", b.host).field("port", static_cast<unsigned>(b.port));
    w.field("sessions_now", b.sessions_now).field("sessions_total", b.sessions_total);
    w.field("bytes_client_to_server", b.bytes_client_to_server);
    w.field("bytes_server_to_client", b.bytes_server_to_client);
    w.field("connect_total", b.connect_total).field("connect_errors", b.connect_errors);
    w.field("connect_us_sum", b.connect_us_sum);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

}  // namespace pw::node
