// conf/validate.cc — see validate.h: the checks that relate several keys.
// Each check runs only when the keys it reads were parsed, so one bad value
// produces one error, not a cascade.
#include "conf/validate.h"

#include <algorithm>
#include <set>

#include "conf/schema.h"
#include "conf/values.h"

namespace pw::conf {

int KeyLines::line(const std::string& section, const std::string& key) const {
  if (auto it = key_line.find(section + "." + key); it != key_line.end()) return it->second;
  if (auto it = section_line.find(section); it != section_line.end()) return it->second;
  return 0;
}
bool KeyLines::present(const std::string& section, const std::string& key) const {
  return key_line.count(section + "." + key) > 0;
}
bool KeyLines::usable(const std::string& section, const std::string& key) const {
  return bad.count(section + "." + key) == 0;
}

namespace {

uint16_t effective_port(const Member& m, const Config& c) {
  return m.raft_port ? m.raft_port : c.raft_port;
}

void check_members(const Config& c, const KeyLines& kl, ErrorSink& sink) {
  if (!kl.usable("cluster", "members")) return;
  std::set<std::string> names;
  for (size_t i = 0; i < c.members.size(); ++i) {
    const Member& m = c.members[i];
    if (!names.insert(m.name).second)
      sink.at(kl, "cluster", "members",
              "member name '" + m.name + "' appears twice; each member needs its own name");
    for (size_t j = 0; j < i; ++j) {
      const Member& o = c.members[j];
      if (o.host == m.host && effective_port(o, c) == effective_port(m, c) && o.name != m.name)
        sink.at(kl, "cluster", "members",
                "members '" + o.name + "' and '" + m.name + "' have the same address " +
                    format_host_port(m.host, effective_port(m, c)) +
                    "; give each its own host or raft port");
    }
  }
  if (!kl.usable("node", "name")) return;
  if (std::any_of(c.members.begin(), c.members.end(),
                  [&](const Member& m) { return m.name == c.node_name; }))
    return;
  std::vector<std::string> all;
  for (const Member& m : c.members)
    if (std::find(all.begin(), all.end(), m.name) == all.end()) all.push_back(m.name);
  std::string list;
  for (const auto& n : all) list += (list.empty() ? "" : ", ") + n;
  std::string near = closest(c.node_name, all);
  sink.at(kl, "node", "name",
          "'" + c.node_name + "' is not in [cluster] members (" + list + ")" +
              (near.empty() ? "; add it there or fix the name" : "; did you mean '" + near + "'?"));
}

// One address a listener binds; "*", 0.0.0.0 and :: cover every address.
bool overlaps(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  auto wild = [](const std::string& h) { return h == "*" || h == "0.0.0.0" || h == "::"; };
  for (const auto& x : a)
    for (const auto& y : b)
      if (x == y || wild(x) || wild(y)) return true;
  return false;
}

std::vector<std::string> split_hosts(const std::string& list) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = std::min(list.find(',', pos), list.size());
    std::string h = list.substr(pos, comma - pos);
    h.erase(0, h.find_first_not_of(' '));
    h.erase(h.find_last_not_of(' ') + 1);
    if (!h.empty()) out.push_back(h);
    pos = comma + 1;
  }
  return out;
}

struct Listener {
  std::string section, key;  // the key that sets the port
  std::string label;         // how the message names it
  std::vector<std::string> hosts;
  uint16_t port;
};

void check_ports(const Config& c, const KeyLines& kl, ErrorSink& sink) {
  auto self = std::find_if(c.members.begin(), c.members.end(),
                           [&](const Member& m) { return m.name == c.node_name; });
  if (self == c.members.end() || !kl.usable("cluster", "members")) return;
  auto or_self = [&](const std::string& h) { return h.empty() ? self->host : h; };
  Listener raft = self->raft_port != 0
                      ? Listener{"cluster",
                                 "members",
                                 "the raft port of " + self->name + " in [cluster] members",
                                 {},
                                 0}
                      : Listener{"raft", "port", "[raft] port", {}, 0};
  raft.hosts = {self->host};
  raft.port = effective_port(*self, c);
  std::vector<Listener> ls = {
      {"proxy", "port", "[proxy] port", {or_self(c.proxy_listen_address)}, c.proxy_port},
      {"proxy",
       "readonly_port",
       "[proxy] readonly_port",
       {or_self(c.proxy_listen_address)},
       c.proxy_readonly_port},
      {"api", "port", "[api] port", {or_self(c.api_listen_address)}, c.api_port},
      raft,
      {"postgresql", "port", "[postgresql] port", split_hosts(or_self(c.pg_listen_address)),
       c.pg_port},
  };
  for (size_t i = 0; i < ls.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const Listener& a = ls[j];
      const Listener& b = ls[i];
      if (a.port == 0 || a.port != b.port || !overlaps(a.hosts, b.hosts)) continue;
      if (!kl.usable(a.section, a.key) || !kl.usable(b.section, b.key)) continue;
      // Blame a key that is written in the file (a default cannot be edited
      // where it stands); of two written keys, the later one.
      bool a_in = kl.present(a.section, a.key), b_in = kl.present(b.section, b.key);
      bool blame_b = a_in != b_in ? b_in : kl.line(b.section, b.key) >= kl.line(a.section, a.key);
      const Listener& blamed = blame_b ? b : a;
      const Listener& other = blame_b ? a : b;
      std::string where = other.hosts.front() == "*" ? "all addresses" : other.hosts.front();
      sink.at(kl, blamed.section, blamed.key,
              "port " + std::to_string(b.port) + " is also used by " + other.label + " on " +
                  where + "; every listener of a node needs its own port (or address)");
    }
  }
}

// Requires lo < hi (strict) or lo <= hi; blames lo_key when it is in the
// file, else hi_key. `factor` scales lo first ("at most half of" = 2).
void check_order(const KeyLines& kl, ErrorSink& sink, const char* section, const char* lo_key,
                 int64_t lo, const char* hi_key, int64_t hi, bool strict, int64_t factor,
                 const std::string& why) {
  if (!kl.usable(section, lo_key) || !kl.usable(section, hi_key)) return;
  if (strict ? lo * factor < hi : lo * factor <= hi) return;
  std::string rel = factor == 2 ? "at most half of" : strict ? "less than" : "at most";
  sink.at(kl, section, kl.present(section, lo_key) ? lo_key : hi_key,
          std::string(lo_key) + " (" + format_duration(lo) + ") must be " + rel + " " + hi_key +
              " (" + format_duration(hi) + "): " + why);
}

// I3 freshness (docs/consensus.md, "Freshness and the lease"): a route
// stays valid for lease/2 after the last contact with the raft leader.
// Requires `times` × [raft] `raft_key` <= [ha] lease / 2; blames the raft key
// when it is in the file, else the lease.
void check_freshness(const KeyLines& kl, ErrorSink& sink, const char* raft_key, int64_t raft_value,
                     int64_t times, int64_t lease, const std::string& why) {
  if (!kl.usable("raft", raft_key) || !kl.usable("ha", "lease")) return;
  if (times * raft_value * 2 <= lease) return;
  std::string lhs =
      times == 1 ? std::string(raft_key) : std::to_string(times) + " * " + std::string(raft_key);
  lhs += " (" + format_duration(times * raft_value) + ")";
  std::string msg = lhs + " must be at most half of [ha] lease (" + format_duration(lease) +
                    "), the freshness window of a route: " + why;
  if (kl.present("raft", raft_key) || !kl.present("ha", "lease"))
    sink.at(kl, "raft", raft_key, msg);
  else
    sink.at(kl, "ha", "lease", msg);
}

// Issue 21: the holder's renewals commit only through a raft leader, so an
// election after the leader's loss must end before the holder reaches its
// fence point, or a fault of any member that leads (a standby, right after
// a failover) stops the primary. After a fault the holder's last confirmed
// renewal is at most one renewal period (lease/6) old and it fences
// fence_margin before the lease ends; the election takes at most two
// election timeouts (the worst draw in [T, 2T)) plus two rounds of messages
// (pre-vote, vote), counted as two heartbeat intervals.
void check_fence_point(const Config& c, const KeyLines& kl, ErrorSink& sink) {
  if (!kl.usable("raft", "election_timeout") || !kl.usable("raft", "heartbeat_interval") ||
      !kl.usable("ha", "lease") || !kl.usable("ha", "fence_margin"))
    return;
  if (c.ha_fence_margin_ms >= c.ha_lease_ms) return;  // check_order reports that
  int64_t election = 2 * c.raft_election_timeout_ms + 2 * c.raft_heartbeat_interval_ms;
  int64_t budget = c.ha_lease_ms - c.ha_fence_margin_ms - c.ha_lease_ms / 6;
  if (election <= budget) return;
  std::string msg = "2 * election_timeout + 2 * heartbeat_interval (" + format_duration(election) +
                    ") must be at most [ha] lease - fence_margin - lease/6 (" +
                    format_duration(std::max<int64_t>(0, budget)) +
                    "): an election after the raft leader's loss must end before the primary's fence point, "
                    "or a standby's fault stops the primary (lower election_timeout or raise lease)";
  if (kl.present("raft", "election_timeout") || kl.present("raft", "heartbeat_interval") ||
      !(kl.present("ha", "lease") || kl.present("ha", "fence_margin")))
    sink.at(kl, "raft", kl.present("raft", "election_timeout") || !kl.present("raft", "heartbeat_interval")
                            ? "election_timeout" : "heartbeat_interval", msg);
  else
    sink.at(kl, "ha", kl.present("ha", "lease") ? "lease" : "fence_margin", msg);
}

void check_timing(const Config& c, const KeyLines& kl, ErrorSink& sink) {
  check_order(kl, sink, "raft", "tick", c.raft_tick_ms, "heartbeat_interval",
              c.raft_heartbeat_interval_ms, false, 1, "timers cannot be finer than the tick");
  check_order(kl, sink, "raft", "heartbeat_interval", c.raft_heartbeat_interval_ms,
              "election_timeout", c.raft_election_timeout_ms, false, 2,
              "followers must hear at least two heartbeats before they start an election");
  check_order(kl, sink, "ha", "fence_margin", c.ha_fence_margin_ms, "lease", c.ha_lease_ms, true, 1,
              "the primary would start demoting as soon as it renewed its lease");
  check_order(kl, sink, "ha", "loop_interval", c.ha_loop_interval_ms, "lease", c.ha_lease_ms, true,
              1, "member status would be stale before the lease could be judged");
  check_freshness(kl, sink, "heartbeat_interval", c.raft_heartbeat_interval_ms, 3, c.ha_lease_ms,
                  "a fresh view must survive two lost heartbeats");
  check_freshness(kl, sink, "election_timeout", c.raft_election_timeout_ms, 1, c.ha_lease_ms,
                  "a deposed leader must be replaced, and every node notice, within that window");
  check_fence_point(c, kl, sink);
}

void check_tls(const Config& c, const KeyLines& kl, ErrorSink& sink) {
  const std::pair<const char*, const std::string*> keys[] = {
      {"ca_file", &c.tls_ca_file}, {"cert_file", &c.tls_cert_file}, {"key_file", &c.tls_key_file}};
  std::string missing;
  int set = 0;
  for (const auto& [key, value] : keys) {
    if (kl.present("tls", key))
      ++set;
    else
      missing += (missing.empty() ? "" : ", ") + std::string(key);
  }
  if (set > 0 && set < 3)
    sink.add(kl.section_line.count("tls") ? kl.section_line.at("tls") : 0, "tls", "",
             "set ca_file, cert_file and key_file together (mutual TLS needs all three), or none; "
             "missing: " +
                 missing);
  if (c.api_tls && set == 0 && kl.usable("api", "tls"))
    sink.at(kl, "api", "tls",
            "is on but [tls] is not configured; set [tls] ca_file, cert_file and key_file");
}

}  // namespace

void validate_cluster(const Config& c, const KeyLines& kl, ErrorSink& sink) {
  check_members(c, kl, sink);
  check_ports(c, kl, sink);
  check_timing(c, kl, sink);
  check_tls(c, kl, sink);
}

}  // namespace pw::conf
