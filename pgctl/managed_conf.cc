// pgctl/managed_conf.cc — see managed_conf.h.
#include "pgctl/managed_conf.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <sstream>

#include "base/log.h"
#include "base/pg_syntax.h"
#include "pgctl/fs.h"

namespace pw::pgctl {
namespace {

const std::set<std::string>& owned_keys() {
  static const std::set<std::string> keys = {
      "listen_addresses",
      "port",
      "unix_socket_directories",
      "hot_standby",
      "wal_log_hints",
      "primary_conninfo",
      "primary_slot_name",
      "synchronous_standby_names",
      "recovery_target_timeline",
  };
  return keys;
}

bool valid_param_name(const std::string& n) {
  if (n.empty() || !(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
  return std::all_of(n.begin(), n.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.';
  });
}

std::string hba_name(const std::string& n) {
  bool plain = !n.empty() && std::all_of(n.begin(), n.end(), [](char ch) {
    return std::islower(static_cast<unsigned char>(ch)) ||
           std::isdigit(static_cast<unsigned char>(ch)) || ch == '_';
  });
  if (plain) return n;
  std::string out = "\"";
  for (char ch : n) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

std::string hba_address(const std::string& a) {
  if (a.find('/') != std::string::npos) return a;  // already a CIDR
  bool ipv4 = !a.empty() && std::all_of(a.begin(), a.end(), [](char ch) {
    return std::isdigit(static_cast<unsigned char>(ch)) || ch == '.';
  });
  if (ipv4) return a + "/32";
  if (a.find(':') != std::string::npos) return a + "/128";
  return a;  // a host name: pg_hba resolves it
}

std::string pad(const std::string& s, size_t w) {
  return s.size() >= w ? s + " " : s + std::string(w - s.size(), ' ');
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

std::string ltrim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b);
}

// The parameter a postgresql.conf-style line sets ("" for comments/blank).
std::string conf_line_key(const std::string& line) {
  std::string s = ltrim(line);
  if (s.empty() || s[0] == '#') return "";
  size_t end = 0;
  while (end < s.size() &&
         (std::isalnum(static_cast<unsigned char>(s[end])) || s[end] == '_' || s[end] == '.'))
    ++end;
  std::string key = s.substr(0, end);
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return key;
}

}  // namespace

bool is_owned_parameter(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  return owned_keys().count(n) > 0;
}

std::string conf_quote(const std::string& v) {
  return pgsyntax::quote_conf_value(v);
}

std::string conninfo_quote(const std::string& v) {
  std::string out = "'";
  for (char ch : v) {
    if (ch == '\'' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "'";
}

std::string pgpass_line(const std::string& user, const std::string& password) {
  auto esc = [](const std::string& s) {
    std::string o;
    for (char ch : s) {
      if (ch == ':' || ch == '\\') o += '\\';
      o += ch;
    }
    return o;
  };
  return "*:*:*:" + esc(user) + ":" + esc(password) + "\n";
}

std::string replication_conninfo(const std::string& host, uint16_t port, const std::string& user,
                                 const std::string& passfile, const std::string& app_name,
                                 const std::string& dbname) {
  std::string s = "host=" + conninfo_quote(host) + " port=" + std::to_string(port) +
                  " user=" + conninfo_quote(user) + " passfile=" + conninfo_quote(passfile) +
                  " application_name=" + conninfo_quote(app_name) +
                  " connect_timeout=5 keepalives=1 keepalives_idle=5 keepalives_interval=2 "
                  "keepalives_count=3";
  if (!dbname.empty()) s += " dbname=" + conninfo_quote(dbname);
  return s;
}

std::string render_managed_conf(const ManagedConf& c, std::vector<std::string>* warnings) {
  std::ostringstream o;
  size_t senders = std::max<size_t>(10, 2 * c.member_count + 2);
  o << "# pgwarden.conf: settings managed by pgwarden for node " << c.node_name << ".\n"
    << "# Rewritten before every start and on every role change: do not edit.\n"
    << "# Put your own settings in [postgresql.parameters] of the pgwarden config.\n"
    << "listen_addresses = " << conf_quote(c.listen_address) << "\n"
    << "port = " << c.port << "\n"
    << "unix_socket_directories = " << conf_quote(c.socket_dir) << "\n"
    << "hot_standby = on\n"
    << "wal_log_hints = on\n"
    << "recovery_target_timeline = 'latest'\n"
    << "synchronous_standby_names = " << conf_quote(c.synchronous_standby_names) << "\n";
  if (c.standby && !c.upstream_host.empty()) {
    o << "primary_conninfo = "
      << conf_quote(replication_conninfo(c.upstream_host, c.upstream_port, c.replication_user,
                                         c.passfile, c.node_name))
      << "\n"
      << "primary_slot_name = " << conf_quote(c.slot_name) << "\n";
  } else {
    o << "primary_conninfo = ''\n"
      << "primary_slot_name = ''\n";
  }
  // Defaults that [postgresql.parameters] may raise (they come later and win).
  o << "wal_level = replica\n"
    << "max_wal_senders = " << senders << "\n"
    << "max_replication_slots = " << senders << "\n"
    // A standby whose primary restarted or changed retries streaming after
    // this (PostgreSQL's 5 s default kept standbys off a restarted primary
    // for up to 5 s: in synchronous mode the primary runs asynchronously
    // until one is back, and a fault in that window has no failover
    // candidate — found by the fault harness).
    << "wal_retrieve_retry_interval = '500ms'\n";
  // pg_rewind needs the old primary's WAL back to the last checkpoint before
  // the divergence, and the crash recovery it must do first checkpoints and
  // recycles older segments: keep some.
  if (c.major != 0 && c.major < 13)
    o << "wal_keep_segments = 8\n";
  else
    o << "wal_keep_size = '128MB'\n";
  if (!c.parameters.empty()) o << "# [postgresql.parameters]\n";
  for (const auto& [k, v] : c.parameters) {
    if (!valid_param_name(k)) {
      if (warnings) warnings->push_back("ignored parameter with invalid name '" + k + "'");
      continue;
    }
    if (is_owned_parameter(k)) {
      if (warnings)
        warnings->push_back("ignored parameter " + k +
                            ": pgwarden sets it itself (see docs/postgres.md)");
      continue;
    }
    pgsyntax::ConfValue cv = pgsyntax::conf_value(v);
    if (!cv.ok()) {
      // load_config() refuses these; a caller that bypassed it gets a warning.
      if (warnings) warnings->push_back("ignored parameter " + k + ": " + cv.error);
      continue;
    }
    o << k << " = " << cv.text << "\n";
  }
  // Floors come last, so they win over the defaults and the parameters above.
  HotStandbyParams declared = postgres_defaults();
  declared.max_wal_senders = static_cast<int>(senders);
  auto set = [&](const char* name, int* v) {
    auto it = c.parameters.find(name);
    if (it == c.parameters.end() || is_owned_parameter(name)) return;
    std::string t = it->second;
    if (t.size() >= 2 && t.front() == '\'' && t.back() == '\'') t = t.substr(1, t.size() - 2);
    char* end = nullptr;
    long n = std::strtol(t.c_str(), &end, 10);
    if (end != t.c_str() && *end == '\0') *v = static_cast<int>(n);
  };
  set("max_connections", &declared.max_connections);
  set("max_worker_processes", &declared.max_worker_processes);
  set("max_wal_senders", &declared.max_wal_senders);
  set("max_prepared_transactions", &declared.max_prepared_transactions);
  set("max_locks_per_transaction", &declared.max_locks_per_transaction);
  const auto have = declared.items();
  const auto floor = c.floors.items();
  bool header = false;
  for (size_t i = 0; i < have.size(); ++i) {
    if (floor[i].second <= have[i].second) continue;
    if (!header) o << "# raised to the primary's values recorded in pg_control (a standby needs at least them)\n";
    header = true;
    o << have[i].first << " = " << floor[i].second << "\n";
  }
  return o.str();
}

std::string render_hba_block(const ManagedConf& c) {
  std::ostringstream o;
  o << kHbaBegin << ": rewritten by pgwarden at every start; edit [cluster] members instead\n";
  o << pad("local", 8) << pad("all", 16) << pad(hba_name(c.superuser), 16) << pad("", 24)
    << "peer\n";
  o << pad("local", 8) << pad("replication", 16) << pad(hba_name(c.superuser), 16) << pad("", 24)
    << "peer\n";
  for (const auto& a : c.member_addresses) {
    if (a.empty() || a.find_first_of(" \t\"#\n") != std::string::npos) continue;
    std::string addr = hba_address(a);
    o << pad("host", 8) << pad("replication", 16) << pad(hba_name(c.replication_user), 16)
      << pad(addr, 24) << "scram-sha-256\n";
    o << pad("host", 8) << pad("all", 16) << pad("all", 16) << pad(addr, 24) << "scram-sha-256\n";
  }
  o << kHbaEnd << "\n";
  return o.str();
}

bool splice_hba(const std::string& existing, const std::string& block, std::string* out,
                std::string* error) {
  std::vector<std::string> lines = split_lines(existing);
  int begin = -1, end = -1;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (begin < 0 && lines[i].rfind(kHbaBegin, 0) == 0)
      begin = static_cast<int>(i);
    else if (begin >= 0 && lines[i].rfind(kHbaEnd, 0) == 0) {
      end = static_cast<int>(i);
      break;
    }
  }
  if (begin >= 0 && end < 0) {
    *error = std::string("pg_hba.conf has '") + kHbaBegin + "' without '" + kHbaEnd +
             "': fix the file by hand (pgwarden will not guess where its block ends)";
    return false;
  }
  std::string result;
  if (begin < 0) {
    result = block;
    for (const auto& l : lines) result += l + "\n";
  } else {
    for (int i = 0; i < begin; ++i) result += lines[i] + "\n";
    result += block;
    for (size_t i = static_cast<size_t>(end) + 1; i < lines.size(); ++i) result += lines[i] + "\n";
  }
  *out = result;
  return true;
}

std::string render_hba_extra_block(const ManagedConf& c, std::vector<std::string>* warnings) {
  if (c.hba_extra.empty()) return "";
  std::string o = std::string(kHbaExtraBegin) +
                  ": [postgresql] hba_extra and hba_file, rewritten at every start\n";
  for (const auto& rule : c.hba_extra) {
    if (rule.find_first_of("\r\n") != std::string::npos) {
      if (warnings) warnings->push_back("ignored hba_extra rule spanning several lines");
      continue;
    }
    o += rule + "\n";
  }
  return o + kHbaExtraEnd + "\n";
}

bool splice_hba_extra(const std::string& existing, const std::string& block, std::string* out,
                      std::string* error) {
  std::vector<std::string> lines = split_lines(existing);
  std::vector<std::string> kept;
  bool inside = false;
  for (const auto& l : lines) {
    if (!inside && l.rfind(kHbaExtraBegin, 0) == 0) {
      inside = true;
    } else if (inside && l.rfind(kHbaExtraEnd, 0) == 0) {
      inside = false;
    } else if (!inside) {
      kept.push_back(l);
    }
  }
  if (inside) {
    *error = std::string("pg_hba.conf has '") + kHbaExtraBegin + "' without '" + kHbaExtraEnd +
             "': fix the file by hand (pgwarden will not guess where its block ends)";
    return false;
  }
  std::string result;
  bool placed = block.empty();
  for (const auto& l : kept) {
    result += l + "\n";
    if (!placed && l.rfind(kHbaEnd, 0) == 0) {
      result += block;
      placed = true;
    }
  }
  if (!placed) {
    *error = std::string("pg_hba.conf has no '") + kHbaEnd + "' line to put hba_extra after";
    return false;
  }
  *out = result;
  return true;
}

std::string ensure_include(const std::string& text, bool* changed) {
  for (const auto& l : split_lines(text)) {
    std::string s = ltrim(l);
    if (s.rfind("include", 0) == 0 && s.find(kManagedConfName) != std::string::npos) {
      *changed = false;
      return text;
    }
  }
  *changed = true;
  std::string out = text;
  if (!out.empty() && out.back() != '\n') out += '\n';
  out += std::string("include '") + kManagedConfName +
         "'\t# pgwarden: managed settings; keep this line last\n";
  return out;
}

std::string strip_owned_from_auto_conf(const std::string& text, std::vector<std::string>* removed) {
  std::string out;
  for (const auto& l : split_lines(text)) {
    std::string key = conf_line_key(l);
    if (!key.empty() && is_owned_parameter(key)) {
      if (removed) removed->push_back(l);
      continue;
    }
    out += l + "\n";
  }
  return out;
}

bool write_managed_files(const std::string& dir, const ManagedConf& c, bool server_stopped,
                         std::string* error) {
  std::vector<std::string> warnings;
  std::string conf = render_managed_conf(c, &warnings);
  for (const auto& w : warnings) PW_WARN("pgctl", "config %s", w.c_str());
  if (!write_file_atomic(dir + "/" + kManagedConfName, conf, 0600, error)) return false;

  std::string pgconf, err;
  std::string pgconf_path = dir + "/postgresql.conf";
  if (!read_file(pgconf_path, &pgconf, &err)) {
    if (file_exists(pgconf_path)) {
      *error = err;
      return false;
    }
    PW_WARN("pgctl", "postgresql.conf missing in %s, creating one that includes %s", dir.c_str(),
            kManagedConfName);
    pgconf.clear();
  }
  bool changed = false;
  std::string with_include = ensure_include(pgconf, &changed);
  if (changed) {
    if (!write_file_atomic(pgconf_path, with_include, 0600, error)) return false;
    PW_INFO("pgctl", "config added include of %s to %s", kManagedConfName, pgconf_path.c_str());
  }

  std::string hba, spliced;
  std::string hba_path = dir + "/pg_hba.conf";
  if (!read_file(hba_path, &hba, &err)) hba.clear();
  std::vector<std::string> hba_warnings;
  if (!splice_hba(hba, render_hba_block(c), &spliced, error) ||
      !splice_hba_extra(spliced, render_hba_extra_block(c, &hba_warnings), &spliced, error)) {
    *error = hba_path + ": " + *error;
    return false;
  }
  for (const auto& w : hba_warnings) PW_WARN("pgctl", "config %s", w.c_str());
  if (spliced != hba && !write_file_atomic(hba_path, spliced, 0600, error)) return false;

  if (server_stopped) {
    std::string autoconf;
    std::string auto_path = dir + "/postgresql.auto.conf";
    if (read_file(auto_path, &autoconf, &err)) {
      std::vector<std::string> removed;
      std::string stripped = strip_owned_from_auto_conf(autoconf, &removed);
      if (!removed.empty()) {
        if (!write_file_atomic(auto_path, stripped, 0600, error)) return false;
        for (const auto& r : removed) {
          std::string key = conf_line_key(r);
          PW_WARN("pgctl", "config removed %s from postgresql.auto.conf: pgwarden owns it",
                  key.c_str());
        }
      }
    }
  }

  if (c.standby) {
    if (!file_exists(dir + "/standby.signal") &&
        !write_file_atomic(dir + "/standby.signal", "", 0600, error))
      return false;
  } else if (!remove_file(dir + "/standby.signal", error)) {
    return false;
  }
  return remove_file(dir + "/recovery.signal", error);
}

}  // namespace pw::pgctl
