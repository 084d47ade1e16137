// ctl/render.cc — the text `pgwarden ctl list` and `ctl history`
// print. Column widths count UTF-8 code points, so names with accents
// keep the borders aligned.
#include <algorithm>

#include "ctl/ctl.h"

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
  if (role == "demoting") return "Demoting";
  if (role == "stopped") return "Stopped";
  if (role == "unknown") return "Unknown";
  return role;
}

std::string lag_mb(const JsonValue& m) {
  const JsonValue* lag = m.get("lag");
  if (m.str_or("role") == "primary") return "";
  if (!lag || !lag->uinteger) return "unknown";
  uint64_t b = *lag->uinteger;
  return std::to_string((b + (1u << 19)) >> 20);  // rounded to the nearest MiB
}

std::string tags(const JsonValue& m) {
  const JsonValue* t = m.get("tags");
  std::string out;
  if (t && t->bool_or("nofailover")) out = "nofailover: true";
  if (t && t->int_or("priority") != 0) out += (out.empty() ? "" : ", ") + ("priority: " + std::to_string(t->int_or("priority")));
  if (m.bool_or("reinit_pending")) out += (out.empty() ? "" : ", ") + std::string("reinit: pending");
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

std::string render_list(const JsonValue& c) {
  std::string out;
  const JsonValue* init = c.get("init");
  std::string init_state = init ? init->str_or("state") : "";
  out += "Cluster: " + c.str_or("cluster") + "  epoch " + std::to_string(c.uint_or("epoch"));
  std::string primary = c.str_or("primary");
  out += "  primary " + (primary.empty() ? std::string("none") : primary);
  std::string decider = c.str_or("decider");
  out += "  decider " + (decider.empty() ? std::string("unknown (no raft leader)") : decider);
  out += "  raft term " + std::to_string(c.uint_or("raft_term")) + "\n";
  if (init_state == "done") {
    out += "Initialized: by " + init->str_or("node") + ", system id " + init->str_or("system_id") + "\n";
  } else if (init_state == "claimed") {
    out += "Initialized: not yet, " + init->str_or("node") + " is bootstrapping\n";
  } else {
    out += "Initialized: not yet\n";
  }
  out += std::string("Maintenance mode: ") + (c.bool_or("paused") ? "on (paused: no automatic failover)" : "off") + "\n";
  if (const JsonValue* sw = c.get("switchover"); sw && sw->is_object()) {
    std::string to = sw->str_or("to");
    out += "Switchover in progress: " + sw->str_or("from") + " -> " + (to.empty() ? "best standby" : to) + "\n";
  }
  out += "Seen from: " + c.str_or("self") + "\n";
  const JsonValue* diags = c.get("diagnostics");
  if (diags && diags->is_array() && !diags->items.empty()) {
    out += "Diagnostics:\n";
    for (const JsonValue& d : diags->items) {
      out += "  [" + d.str_or("code") + "] " + d.str_or("message") + "\n";
      if (!d.str_or("action").empty()) out += "      action: " + d.str_or("action") + "\n";
    }
  }
  std::vector<std::vector<std::string>> rows;
  if (const JsonValue* ms = c.get("members"); ms && ms->is_array()) {
    for (const JsonValue& m : ms->items) {
      std::string tl = m.uint_or("timeline") ? std::to_string(m.uint_or("timeline")) : "";
      rows.push_back({m.str_or("name"), m.str_or("host"), role_title(m.str_or("role")), m.str_or("state"), tl,
                      lag_mb(m), tags(m)});
    }
  }
  out += render_table({"Member", "Host", "Role", "State", "TL", "Lag in MB", "Tags"}, rows,
                      {false, false, false, false, true, true, false});
  return out;
}

std::string render_history(const JsonValue& h) {
  std::vector<std::vector<std::string>> rows;
  if (h.is_array()) {
    for (const JsonValue& e : h.items) {
      rows.push_back({std::to_string(e.uint_or("epoch")), e.str_or("node"), std::to_string(e.uint_or("timeline")),
                      e.str_or("lsn_text"), e.str_or("time"), e.str_or("reason")});
    }
  }
  if (rows.empty()) return "No primary changes recorded yet.\n";
  return render_table({"Epoch", "Member", "TL", "LSN", "Time", "Reason"}, rows,
                      {true, false, true, false, false, false});
}

std::string render_members(const JsonValue& m) {
  std::vector<std::vector<std::string>> rows;
  if (const JsonValue* ms = m.get("members"); ms && ms->is_array()) {
    for (const JsonValue& x : ms->items) {
      std::string role = x.str_or("role");
      if (role == "learner" && x.bool_or("stays_learner")) role += " (stays)";
      rows.push_back({std::to_string(x.uint_or("id")), x.str_or("name"),
                      x.str_or("host") + ":" + std::to_string(x.uint_or("port")), role});
    }
  }
  std::string out = "Membership epoch " + std::to_string(m.uint_or("epoch")) +
                    (m.uint_or("epoch") == 0 ? " (the seed list: never changed)" : "") +
                    (m.bool_or("pending") ? ", a change is pending" : "") + "\n";
  out += render_table({"Id", "Member", "Raft address", "Role"}, rows, {true, false, false, false});
  if (!m.str_or("config_drift").empty()) out += "Warning: " + m.str_or("config_drift") + "\n";
  return out;
}

}  // namespace pw::node
