// conf/schema.cc — see schema.h. The key table: every key of the INI file,
// in print order. Adding a key = adding a Config field and one row here.
#include "conf/schema.h"

#include <algorithm>

#include "base/log.h"
#include "base/pg_syntax.h"
#include "conf/schema_setters.h"

namespace pw::conf {
namespace {

using namespace setters;

std::string set_log_level(Config& c, const std::string& v) {
  if (!log_level_named(v))
    return "'" + v + "' is not a log level; expected debug, info, warn or error";
  c.log_level = v;
  return "";
}

std::string set_members(Config& c, const std::string& v) {
  auto p = parse_members(v);
  if (!p.value) return p.error;
  c.members = std::move(*p.value);
  return "";
}
std::string show_members(const Config& c) {
  return format_members(c.members);
}

// PostgreSQL's listen_addresses: "*" or a comma-separated list of hosts.
std::string set_pg_listen(Config& c, const std::string& v) {
  if (v.empty()) return empty_error();
  if (v != "*") {
    size_t pos = 0;
    while (pos <= v.size()) {
      size_t comma = std::min(v.find(',', pos), v.size());
      std::string item = v.substr(pos, comma - pos);
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (!valid_host(item))
        return "'" + item +
               "' is not a host name or IP address; expected '*' or a comma-separated list like "
               "10.0.0.120, 127.0.0.1";
      pos = comma + 1;
    }
  }
  c.pg_listen_address = v;
  return "";
}

// One pg_hba rule per hba_extra line (the key repeats for more).
std::string add_hba_extra(Config& c, const std::string& v) {
  if (v.empty()) return empty_error();
  std::string why = pgsyntax::hba_line_problem(v);
  if (!why.empty()) return "not a pg_hba rule: " + why;
  c.pg_hba_extra.push_back(v);
  return "";
}
std::string show_hba_extra(const Config& c) {
  std::string out;
  for (const auto& r : c.pg_hba_extra) out += (out.empty() ? "" : "\n") + r;
  return out;
}

#define DURATION(f, min) set_duration<&Config::f, min>, show_duration<&Config::f>
#define SIZE(f, min) set_size<&Config::f, min>, show_size<&Config::f>
#define BOOL(f) set_bool<&Config::f>, show_bool<&Config::f>
#define PORT(f) set_port<&Config::f>, show_port<&Config::f>
#define INT(f, lo, hi) set_int<&Config::f, lo, hi>, show_int<&Config::f>
#define PATH(f) set_path<&Config::f>, show_string<&Config::f>
#define STR(setter, f) setter<&Config::f>, show_string<&Config::f>

const std::vector<KeySpec> kSchema = {
    {"node", "name", true, nullptr, "This node's name; must be one of [cluster] members",
     STR(set_name, node_name)},
    {"node", "state_dir", true, nullptr, "Raft log, snapshots and the stored cluster identity",
     PATH(state_dir)},
    {"node", "log_level", false, nullptr, "debug, info, warn or error", set_log_level,
     show_string<&Config::log_level>},
    {"node", "run_as_user", false, nullptr,
     "OS user to switch to when started as root (PostgreSQL refuses root)",
     STR(set_identifier, run_as_user)},

    {"cluster", "name", true, nullptr,
     "Cluster name; every member must use the same (checked in the Raft handshake)",
     STR(set_name, cluster_name)},
    {"cluster", "members", true, nullptr,
     "Every member: name=host[:raft_port], comma separated; identical on every node", set_members,
     show_members},

    {"raft", "port", false, nullptr, "Raft port of this node, and of members listed without one",
     PORT(raft_port)},
    {"raft", "tick", false, nullptr, "Raft clock tick", DURATION(raft_tick_ms, 1)},
    {"raft", "election_timeout", false, nullptr,
     "Follower waits a random time in [t, 2t) without a leader before an election",
     DURATION(raft_election_timeout_ms, 1)},
    {"raft", "heartbeat_interval", false, nullptr, "Leader heartbeat period",
     DURATION(raft_heartbeat_interval_ms, 1)},
    {"raft", "max_frame_size", false, nullptr, "Largest Raft message accepted from a peer",
     SIZE(raft_max_frame_size, 4096)},
    {"raft", "snapshot_entries", false, nullptr,
     "Snapshot and compact the log every N applied entries",
     INT(raft_snapshot_entries, 1, 1000000000)},
    {"raft", "recover_hint_after", false, nullptr,
     "After this long without a quorum the no_quorum diagnostic names `pgwarden recover "
     "--force-members` (for members gone for good)",
     DURATION(raft_recover_hint_after_ms, 1)},

    {"postgresql", "bin_dir", true, nullptr,
     "Directory of initdb, postgres, pg_ctl, pg_basebackup, pg_rewind", PATH(pg_bin_dir)},
    {"postgresql", "data_dir", true, nullptr, "PostgreSQL data directory", PATH(pg_data_dir)},
    {"postgresql", "port", false, nullptr,
     "PostgreSQL's own port (replication and the proxies only)", PORT(pg_port)},
    {"postgresql", "listen_address", false, "this member's host",
     "PostgreSQL listen_addresses: '*' or a comma-separated list", set_pg_listen,
     show_string<&Config::pg_listen_address>},
    {"postgresql", "socket_dir", false, "[node] state_dir", "Directory of PostgreSQL's Unix socket",
     PATH(pg_socket_dir)},
    {"postgresql", "superuser", false, nullptr,
     "Superuser pgwarden connects as over the local socket", STR(set_identifier, pg_superuser)},
    {"postgresql", "replication_user", false, nullptr,
     "Role replicas stream with (created at bootstrap)", STR(set_identifier, pg_replication_user)},
    {"postgresql", "replication_password_file", true, nullptr,
     "File holding the replication password; mode 0600, owned by the daemon's user",
     PATH(pg_replication_password_file)},
    {"postgresql", "initdb_args", false, "(none)",
     "Extra initdb arguments, space separated (--data-checksums is always passed)",
     STR(set_text, pg_initdb_args)},
    {"postgresql", "move_aside_foreign_data", false, nullptr,
     "Rename a data directory of another cluster aside (never deleted); off = refuse to start",
     BOOL(pg_move_aside_foreign)},
    {"postgresql", "superuser_password_file", false, "(none)",
     "File holding the superuser's password (set at bootstrap and every new epoch on the "
     "primary); mode 0600",
     PATH(pg_superuser_password_file)},
    {"postgresql", "bootstrap_sql_file", false, "(none)",
     "SQL run once by psql (ON_ERROR_STOP) as the superuser on the new primary at bootstrap, "
     "before clients are let in: roles, databases, extensions",
     PATH(pg_bootstrap_sql_file)},
    {"postgresql", "hba_extra", false, "(none)",
     "One extra pg_hba rule (TYPE DATABASE USER [ADDRESS] METHOD), written below pgwarden's "
     "block; repeat the key for more",
     add_hba_extra, show_hba_extra},
    {"postgresql", "hba_file", false, "(none)",
     "File of extra pg_hba rules, one per line (# comments), added after hba_extra",
     PATH(pg_hba_file)},

    {"proxy", "port", false, nullptr,
     "Read-write port clients connect to (forwarded to the primary)", PORT(proxy_port)},
    {"proxy", "readonly_port", false, nullptr, "Read-only port (to healthy replicas); 0 = disabled",
     set_port<&Config::proxy_readonly_port, true>, show_port<&Config::proxy_readonly_port>},
    {"proxy", "listen_address", false, "this member's host",
     "Address the proxy ports bind to (0.0.0.0 or :: for all)",
     STR(set_listen_host, proxy_listen_address)},
    {"proxy", "hold_timeout", false, nullptr,
     "How long a new connection waits for a primary before it is refused (57P03)",
     DURATION(proxy_hold_timeout_ms, 0)},
    {"proxy", "connect_timeout", false, nullptr, "Timeout of the connection to a backend",
     DURATION(proxy_connect_timeout_ms, 1)},
    {"proxy", "max_client_connections", false, nullptr,
     "Client connections open at once on each proxy port (the read-write and read-only ports "
     "count separately, across all proxy threads); more are refused with 53300",
     INT(proxy_max_client_connections, 1, 1000000)},
    {"proxy", "readonly_max_lag", false, nullptr,
     "Replicas further behind are not used by the read-only port", SIZE(proxy_readonly_max_lag, 0)},
    {"proxy", "readonly_fallback", false, nullptr,
     "Read-only port falls back to the primary when no replica qualifies",
     BOOL(proxy_readonly_fallback)},
    {"proxy", "shutdown_grace", false, nullptr, "On stop, how long open sessions may finish",
     DURATION(proxy_shutdown_grace_ms, 0)},
    {"proxy", "threads", false, nullptr,
     "Proxy threads, each with its own event loop and SO_REUSEPORT listener; 0 = one per CPU this process may run on",
     INT(proxy_threads, 0, 64)},
    {"proxy", "pause_timeout", false, nullptr,
     "How long a running session may wait on a stale route before it is ended (57P03 if it sent nothing yet)",
     DURATION(proxy_pause_timeout_ms, 1)},
    {"proxy", "startup_retry_max", false, nullptr,
     "After a server refuses a new session with 57P03 (starting up, shutting down), held sessions "
     "try it again one at a time, 250 ms later, then at doubling intervals up to this",
     DURATION(proxy_startup_retry_max_ms, 1)},

    {"api", "port", false, nullptr, "HTTP stats/API port (Patroni-compatible health checks)",
     PORT(api_port)},
    {"api", "listen_address", false, "this member's host",
     "Address the API binds to (0.0.0.0 or :: for all)", STR(set_listen_host, api_listen_address)},
    {"api", "token_file", false, "(none)",
     "File holding the bearer token for POST requests; mode 0600. Unset = POSTs refused",
     PATH(api_token_file)},
    {"api", "tls", false, nullptr, "Serve the API over HTTPS with the [tls] certificate",
     BOOL(api_tls)},

    {"tls", "ca_file", false, "(none)",
     "CA that signs every member's certificate; set all three [tls] keys or none",
     PATH(tls_ca_file)},
    {"tls", "cert_file", false, "(none)", "This member's certificate (mutual TLS between nodes)",
     PATH(tls_cert_file)},
    {"tls", "key_file", false, "(none)", "Private key of cert_file; mode 0600", PATH(tls_key_file)},

    {"ha", "lease", false, nullptr, "Primary lease; crash failover takes about this long",
     DURATION(ha_lease_ms, 100)},
    {"ha", "max_clock_drift", false, nullptr,
     "Assumed bound on clock rate difference between nodes",
     set_percent<&Config::ha_max_clock_drift>, show_percent<&Config::ha_max_clock_drift>},
    {"ha", "fence_grace", false, nullptr,
     "Extra wait after lease expiry before a new primary is chosen",
     DURATION(ha_fence_grace_ms, 0)},
    {"ha", "fence_margin", false, nullptr,
     "Primary starts demoting when less than this is left on its lease",
     DURATION(ha_fence_margin_ms, 1)},
    {"ha", "loop_interval", false, nullptr,
     "Period of PostgreSQL probes and member status exchange", DURATION(ha_loop_interval_ms, 1)},
    {"ha", "maximum_lag_on_failover", false, nullptr,
     "Replicas further behind cannot become primary", SIZE(ha_maximum_lag_on_failover, 0)},
    {"ha", "synchronous_mode", false, nullptr,
     "Synchronous replication; failover only to a synchronous standby", BOOL(ha_synchronous_mode)},
    {"ha", "synchronous_node_count", false, nullptr,
     "Synchronous mode: how many standbys confirm each commit (synchronous_standby_names = "
     "ANY k over that many chosen standbys, fewer while fewer stream); failover needs one of them",
     INT(ha_synchronous_node_count, 1, 64)},
    {"ha", "synchronous_mode_strict", false, nullptr,
     "Synchronous mode: with no synchronous standby streaming, commits wait instead of the "
     "primary going asynchronous",
     BOOL(ha_synchronous_mode_strict)},
    {"ha", "primary_restart_timeout", false, nullptr,
     "How long to try restarting a crashed primary PostgreSQL before releasing the lock; 0s = at "
     "once",
     DURATION(ha_primary_restart_timeout_ms, 0)},
    {"ha", "bootstrap_timeout", false, nullptr,
     "A bootstrap claim not done by then is cleared and given to another node (a claimant that "
     "stops reporting loses it after one `lease`)",
     DURATION(ha_bootstrap_timeout_ms, 1000)},

    {"bootstrap", "reinit_when_all_empty", false, nullptr,
     "Cluster initialized but every member's data directory empty: start over by itself",
     BOOL(bootstrap_reinit_when_all_empty)},

    {"tags", "nofailover", false, nullptr,
     "Never make this node primary (not by failover, switchover `--force`, `failover --to` or adopting its "
     "data at bootstrap), and never a synchronous standby",
     BOOL(tag_nofailover)},
    {"tags", "priority", false, nullptr,
     "Failover tie-break between equally advanced replicas: higher wins",
     INT(tag_priority, -1000000, 1000000)},
};

#undef DURATION
#undef SIZE
#undef BOOL
#undef PORT
#undef INT
#undef PATH
#undef STR

}  // namespace

const std::vector<KeySpec>& schema() {
  return kSchema;
}

const std::vector<std::string>& section_names() {
  static const std::vector<std::string> names = {
      "node", "cluster", "raft",      "postgresql", kParametersSection, "proxy", "api",
      "tls",  "ha",      "bootstrap", "tags"};
  return names;
}

bool repeatable_key(std::string_view section, std::string_view key) {
  return section == "postgresql" && key == "hba_extra";
}

const KeySpec* find_key(std::string_view section, std::string_view key) {
  for (const KeySpec& k : kSchema)
    if (section == k.section && key == k.key) return &k;
  return nullptr;
}

bool is_known_section(std::string_view section) {
  const auto& names = section_names();
  return std::find(names.begin(), names.end(), section) != names.end();
}

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = 0;
  for (const std::string& c : candidates) {
    size_t d = edit_distance(word, c);
    if (best.empty() || d < best_d) {
      best = c;
      best_d = d;
    }
  }
  // Near misses only: a typo or two, scaled to the word's length.
  size_t limit = word.size() <= 4 ? 1 : word.size() <= 8 ? 2 : 3;
  return (!best.empty() && best_d <= limit) ? best : "";
}

const char* managed_parameter(std::string_view name) {
  struct Managed {
    const char* name;
    const char* instead;
  };
  static const Managed kManaged[] = {
      {"port", "set [postgresql] port"},
      {"listen_addresses", "set [postgresql] listen_address"},
      {"unix_socket_directories", "set [postgresql] socket_dir"},
      {"data_directory", "set [postgresql] data_dir"},
      {"hba_file", "pgwarden writes pg_hba.conf; add rules with [postgresql] hba_extra or hba_file"},
      {"ident_file", "pgwarden manages the data directory's configuration files"},
      {"config_file", "pgwarden manages the data directory's configuration files"},
      {"primary_conninfo", "pgwarden points replicas at the current primary"},
      {"primary_slot_name", "pgwarden creates and assigns replication slots"},
      {"synchronous_standby_names", "set [ha] synchronous_mode; pgwarden manages the standby list"},
      {"hot_standby", "pgwarden runs replicas as hot standbys"},
  };
  for (const Managed& m : kManaged)
    if (name == m.name) return m.instead;
  return nullptr;
}

}  // namespace pw::conf
