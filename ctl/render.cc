// ctl/render.cc — the text `pgwarden ctl list` and `ctl history`
// print. Column widths count UTF-8 code points, so names with accents
// keep the borders aligned.
#include <algorithm>

#include "ctl/ctl.h"

#include "base/json_io.h"

namespace pw::node {

namespace {

size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xc0) != 0x80) ++n;
  return n;
}

std::string pad(const std::string& s, size_t width, bool right) {
  size_t w = display_width(s);
  std::string fill(width > w ? width - w : 0, ' ');
  return right ? fill + s : s + fill;
}

std::string role_title(const std::string& role) {
  if (role == "primary") return "Primary";
  if (role == "replica") return "Replica";
  if (role == "sync_standby") return "Sync Standby";
  if (role == "async_standby") return "Async Standby";
  if (role == "demoting") return "Demoting";
  if (role == "stopped") return "Stopped";
  if (role == "unknown") return "Unknown";
  return role;
}

std::string lag_mb(const Json& m) {
  if (json_str(m, "role") == "primary") return "";
  const Json* lag = json_member(m, "lag");
  std::optional<uint64_t> bytes = lag ? json_as_uint(*lag) : std::nullopt;
  if (!bytes) return "unknown";
  uint64_t b = *bytes;
  return std::to_string((b + (1u << 19)) >> 20);  // rounded to the nearest MiB
}

std::string tags(const Json& m) {
  const Json* t = json_member(m, "tags");
  std::string out;
  if (t && json_bool(*t, "nofailover")) out = "nofailover: true";
  int64_t priority = t ? json_int(*t, "priority") : 0;
  if (priority != 0) out += (out.empty() ? "" : ", ") + ("priority: " + std::to_string(priority));
  if (json_bool(m, "reinit_pending")) out += (out.empty() ? "" : ", ") + std::string("reinit: pending");
  if (json_bool(m, "removing")) out += (out.empty() ? "" : ", ") + std::string("removing");
  // Patroni's "Pending restart" flag, with the parameters that wait for it
  // (nothing shown when none, or unknown: a member too old to report it).
  if (const Json* pr = json_member(m, "pending_restart"); pr && pr->is_array() && !pr->empty()) {
    std::string names;
    for (const Json& x : *pr)
      if (x.is_string()) names += (names.empty() ? "" : " ") + x.get<std::string>();
    out += (out.empty() ? "" : ", ") + ("pending restart: " + names);
  }
  return out;
}

}  // namespace

std::string render_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& right) {
  std::vector<size_t> w(headers.size());
  for (size_t i = 0; i < headers.size(); ++i) w[i] = display_width(headers[i]);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], display_width(r[i]));
  std::string border = "+";
  for (size_t x : w) border += std::string(x + 2, '-') + "+";
  border += "\n";
  auto line = [&](const std::vector<std::string>& cells, bool header) {
    std::string s = "|";
    for (size_t i = 0; i < w.size(); ++i) {
      std::string c = i < cells.size() ? cells[i] : "";
      s += " " + pad(c, w[i], !header && i < right.size() && right[i]) + " |";
    }
    return s + "\n";
  };
  std::string out = border + line(headers, true) + border;
  for (const auto& r : rows) out += line(r, false);
  return out + border;
}

std::string render_list(const Json& c) {
  std::string out;
  const Json* init = json_member(c, "init");
  std::string init_state = init ? json_str(*init, "state") : "";
  out += "Cluster: " + json_str(c, "cluster") + "  epoch " + std::to_string(json_uint(c, "epoch"));
  std::string primary = json_str(c, "primary");
  out += "  primary " + (primary.empty() ? std::string("none") : primary);
  std::string decider = json_str(c, "decider");
  out += "  decider " + (decider.empty() ? std::string("unknown (no raft leader)") : decider);
  out += "  raft term " + std::to_string(json_uint(c, "raft_term")) + "\n";
  if (init_state == "done") {
    out += "Initialized: by " + json_str(*init, "node") + ", system id " + json_str(*init, "system_id") + "\n";
  } else if (init_state == "claimed") {
    out += "Initialized: not yet, " + json_str(*init, "node") + " is bootstrapping\n";
  } else {
    out += "Initialized: not yet\n";
  }
  out += std::string("Maintenance mode: ") + (json_bool(c, "paused") ? "on (paused: no automatic failover)" : "off") + "\n";
  if (const Json* sw = json_member(c, "switchover"); sw && sw->is_object()) {
    std::string to = json_str(*sw, "to");
    out += "Switchover in progress: " + json_str(*sw, "from") + " -> " + (to.empty() ? "best standby" : to) + "\n";
  }
  if (const Json* sc = json_member(c, "scheduled"); sc && sc->is_object()) {
    // Day two: what runs later (or runs now, one member at a time).
    if (const Json* sw = json_member(*sc, "switchover"); sw && sw->is_object()) {
      std::string to = json_str(*sw, "to");
      out += "Scheduled switchover: " + json_str(*sw, "from") + " -> " + (to.empty() ? "best standby" : to) + " at " +
             json_str(*sw, "at") + "\n";
    }
    if (const Json* rs = json_member(*sc, "restarts"); rs && rs->is_array() && !rs->empty()) {
      std::string list;
      for (const Json& x : *rs) list += (list.empty() ? "" : ", ") + json_str(x, "member");
      const Json& first = rs->front();
      std::string at = json_str(first, "at");
      out += "Scheduled restart: " + list + (at.empty() ? " (now, in this order)" : " from " + at + ", in this order") +
             (json_bool(first, "pending_only") ? ", only those with a pending restart" : "") + "\n";
    }
  }
  if (const Json* sy = json_member(c, "synchronous"); sy && sy->is_object() && json_str(*sy, "mode") != "off") {
    // The quorum-commit rule, as committed: ANY k of the set, and what a
    // failover has to hear.
    std::string set;
    if (const Json* m = json_member(*sy, "set"); m && m->is_array())
      for (const Json& x : *m)
        if (x.is_string()) set += (set.empty() ? "" : ", ") + x.get<std::string>();
    out += "Synchronous mode: " + json_str(*sy, "mode") + ", " +
           std::to_string(json_uint(*sy, "node_count")) + " synchronous standby(s) wanted; ";
    if (set.empty())
      out += "committed set empty (only the last primary has every acknowledged commit)\n";
    else
      out += "committed ANY " + std::to_string(json_uint(*sy, "acks")) + " of (" + set + "): a failover must hear " +
             std::to_string(json_uint(*sy, "failover_needs")) + " of them\n";
  }
  out += "Seen from: " + json_str(c, "self") + "\n";
  const Json* diags = json_member(c, "diagnostics");
  if (diags && diags->is_array() && !diags->empty()) {
    out += "Diagnostics:\n";
    for (const Json& d : *diags) {
      out += "  [" + json_str(d, "code") + "] " + json_str(d, "message") + "\n";
      if (!json_str(d, "action").empty()) out += "      action: " + json_str(d, "action") + "\n";
    }
  }
  std::vector<std::vector<std::string>> rows;
  if (const Json* ms = json_member(c, "members"); ms && ms->is_array()) {
    for (const Json& m : *ms) {
      std::string tl = json_uint(m, "timeline") ? std::to_string(json_uint(m, "timeline")) : "";
      // Each member's pgwarden version: a mixed cluster during an upgrade
      // shows here ("?" = a member too old to announce it, or never heard).
      std::string version = json_str(m, "version");
      rows.push_back({json_str(m, "name"), json_str(m, "host"), role_title(json_str(m, "role")), json_str(m, "state"), tl,
                      lag_mb(m), tags(m), version.empty() ? "?" : version});
    }
  }
  out += render_table({"Member", "Host", "Role", "State", "TL", "Lag in MB", "Tags", "Version"}, rows,
                      {false, false, false, false, true, true, false, false});
  return out;
}

std::string render_history(const Json& h) {
  std::vector<std::vector<std::string>> rows;
  if (h.is_array()) {
    for (const Json& e : h) {
      rows.push_back({std::to_string(json_uint(e, "epoch")), json_str(e, "node"), std::to_string(json_uint(e, "timeline")),
                      json_str(e, "lsn_text"), json_str(e, "time"), json_str(e, "reason")});
    }
  }
  if (rows.empty()) return "No primary changes recorded yet.\n";
  return render_table({"Epoch", "Member", "TL", "LSN", "Time", "Reason"}, rows,
                      {true, false, true, false, false, false});
}

std::string render_members(const Json& m) {
  std::vector<std::vector<std::string>> rows;
  if (const Json* ms = json_member(m, "members"); ms && ms->is_array()) {
    for (const Json& x : *ms) {
      std::string role = json_str(x, "role");
      if (role == "learner" && json_bool(x, "stays_learner")) role += " (stays)";
      rows.push_back({std::to_string(json_uint(x, "id")), json_str(x, "name"),
                      json_str(x, "host") + ":" + std::to_string(json_uint(x, "port")), role});
    }
  }
  std::string out = "Membership epoch " + std::to_string(json_uint(m, "epoch")) +
                    (json_uint(m, "epoch") == 0 ? " (the seed list: never changed)" : "") +
                    (json_bool(m, "pending") ? ", a change is pending" : "") + "\n";
  out += render_table({"Id", "Member", "Raft address", "Role"}, rows, {true, false, false, false});
  if (!json_str(m, "config_drift").empty()) out += "Warning: " + json_str(m, "config_drift") + "\n";
  return out;
}

}  // namespace pw::node
