// conf/config.h — the typed, immutable per-host configuration (DESIGN §9).
//
// Loaded once from the INI file by load_config(); every field has its
// default here, so a reader sees the whole surface in one place. Durations
// are milliseconds, sizes bytes. Secrets are never held here: only the
// paths of the files that contain them (read by the module that needs them).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pw::conf {

struct Member {
  std::string name;
  std::string host;           // address other members and clients use
  uint16_t raft_port = 5010;  // from the list, else [raft] port (filled in by load_config)
};

struct Config {
  std::string source_file;  // path the config was loaded from

  // [node]
  std::string node_name;                 // required; must be in cluster.members
  std::string state_dir;                 // required; raft log, snapshots, identity
  std::string log_level = "info";        // debug|info|warn|error
  std::string run_as_user = "postgres";  // started as root → drop to this user

  // [cluster]
  std::string cluster_name;     // required
  std::vector<Member> members;  // required; "name=host[:raft_port], ..."

  // [raft]
  uint16_t raft_port = 5010;  // this node's port (default for members)
  int64_t raft_tick_ms = 100;
  int64_t raft_election_timeout_ms = 500;  // randomized in [t, 2t); see check_fence_point (validate.cc)
  int64_t raft_heartbeat_interval_ms = 100;
  uint64_t raft_max_frame_size = 16ull << 20;
  uint64_t raft_snapshot_entries = 10000;  // snapshot + compact every N applied
  int64_t raft_recover_hint_after_ms = 300000;  // no_quorum this long: point to `pgwarden recover`

  // [postgresql]
  std::string pg_bin_dir;   // required
  std::string pg_data_dir;  // required
  uint16_t pg_port = 15432;
  std::string pg_listen_address;  // default: this member's host; '*' or "a, b"
  std::string pg_socket_dir;      // default: state_dir
  std::string pg_superuser = "postgres";
  std::string pg_replication_user = "replicator";
  std::string pg_replication_password_file;  // required; mode 0600
  std::string pg_initdb_args;                // extra initdb arguments (space separated)
  bool pg_move_aside_foreign = false;        // I6: foreign data dir is moved aside only if on
  std::string pg_superuser_password_file;    // optional; mode 0600
  std::string pg_bootstrap_sql_file;         // optional; run once on the new primary at bootstrap
  /// Extra pg_hba rules, validated: `hba_extra` keys in file order (the key
  /// may repeat), then the rules of pg_hba_file (read at load, not rendered
  /// back by render_config: hba_file names them).
  std::vector<std::string> pg_hba_extra;
  std::string pg_hba_file;  // optional; one pg_hba rule per line
  std::vector<std::string> pg_hba_file_rules;
  std::map<std::string, std::string> pg_parameters;  // [postgresql.parameters]

  // [proxy]
  uint16_t proxy_port = 5432;
  uint16_t proxy_readonly_port = 0;  // 0 = no read-only listener
  std::string proxy_listen_address;  // default: this member's host
  int64_t proxy_hold_timeout_ms = 10000;
  int64_t proxy_connect_timeout_ms = 2000;
  uint32_t proxy_max_client_connections = 10000;
  uint64_t proxy_readonly_max_lag = 1ull << 20;
  bool proxy_readonly_fallback = true;
  int64_t proxy_shutdown_grace_ms = 5000;
  uint32_t proxy_threads = 0;  // 0 = one per usable CPU (SO_REUSEPORT listener each)
  int64_t proxy_pause_timeout_ms = 10000;
  int64_t proxy_startup_retry_max_ms = 2000;  // cap of the pace after a 57P03 refusal

  // [api]
  uint16_t api_port = 8008;
  std::string api_listen_address;  // default: this member's host
  std::string api_token_file;      // optional; without it POSTs are refused
  bool api_tls = false;

  // [tls] (all three or none)
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_enabled() const { return !tls_ca_file.empty(); }

  // [ha]
  int64_t ha_lease_ms = 3000;
  double ha_max_clock_drift = 0.05;  // "5%"
  int64_t ha_fence_grace_ms = 300;
  int64_t ha_fence_margin_ms = 1000;
  int64_t ha_loop_interval_ms = 250;  // probe + status gossip period
  uint64_t ha_maximum_lag_on_failover = 1ull << 20;
  bool ha_synchronous_mode = false;
  int ha_synchronous_node_count = 1;       // k: PostgreSQL waits for ANY k of the synchronous set
  bool ha_synchronous_mode_strict = false; // no standby streams: block writes, not asynchronous
  int64_t ha_primary_restart_timeout_ms = 0;  // 0 = release the lock at once
  int64_t ha_bootstrap_timeout_ms = 120000;

  // [bootstrap]
  bool bootstrap_reinit_when_all_empty = false;

  // [tags]
  bool tag_nofailover = false;
  int tag_priority = 0;

  const Member& self() const;
  /// Every extra pg_hba rule in the order they are written: hba_extra, then
  /// hba_file's.
  std::vector<std::string> hba_rules() const;  // the member named node_name (validated to exist)
};

/// One validation or parse error: file, line (0 when the key is missing),
/// section and key, and a message saying what is wrong and what to do.
struct ConfigError {
  std::string file;
  int line = 0;
  std::string section;
  std::string key;
  std::string message;
  std::string to_string() const;  // "FILE:LINE: [section] key: message"
};

struct LoadResult {
  Config config;                    // meaningful only when errors is empty
  std::vector<ConfigError> errors;  // every problem found, in file order
  bool ok() const { return errors.empty(); }
};

/// Parses and validates `path`. Never throws; never stops at the first error.
/// Not for concurrent use from several threads: inih's options are
/// process-global (conf/ini_file.cc). Call it once at start-up.
/// On success every derived default is filled in: members' raft ports, the
/// three listen addresses (this member's host) and pg_socket_dir (state_dir),
/// so readers of Config never re-derive them.
LoadResult load_config(const std::string& path);

/// The effective configuration as INI text (every key, defaults included,
/// secrets shown as file paths only). Used by `pgwarden check-config`.
std::string render_config(const Config& c);

/// The configuration reference as a Markdown table (section, key, default,
/// meaning), for README.md. `pgwarden check-config --reference` prints it.
std::string reference_markdown();

}  // namespace pw::conf
