// pgctl/managed_conf.h — the files pgwarden owns in a data directory
// (docs/postgres.md lists them and why):
//
//  * pgwarden.conf — every setting pgwarden manages, rewritten whole before
//    every start and on follow / synchronous_standby_names changes;
//  * one line `include 'pgwarden.conf'` appended once to postgresql.conf
//    (last, so our values win over the rest of postgresql.conf);
//  * a block between marker comments at the top of pg_hba.conf (first match
//    wins in pg_hba, so it cannot be shadowed by lines below it);
//  * standby.signal present exactly when starting as a standby;
//    recovery.signal removed (pgwarden never runs targeted recovery);
//  * keys pgwarden owns removed from postgresql.auto.conf while the server
//    is stopped (ALTER SYSTEM would otherwise silently override them, and a
//    basebackup/rewind copies the upstream's copy of that file).
//
// The render_* functions are pure (unit-tested); write_managed_files does
// the file I/O. A basebackup or pg_rewind copies the upstream's versions of
// all these files, so they are rewritten for the local node afterwards.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pgctl/hot_standby_params.h"

namespace pw::pgctl {

struct ManagedConf {
  std::string node_name;  // application_name for the upstream's pg_stat_replication
  std::string listen_address;
  uint16_t port = 0;
  std::string socket_dir;
  size_t member_count = 0;  // sizes max_wal_senders / max_replication_slots
  uint32_t major = 0;       // server major version (setting names differ), 0 = latest
  /// Pass-through [postgresql.parameters], each value bare or already quoted
  /// the PostgreSQL way (base/pg_syntax.h conf_value).
  std::map<std::string, std::string> parameters;
  std::string synchronous_standby_names;
  /// Standby start: the primary's settings from pg_control. A setting below
  /// its floor (ours, theirs or PostgreSQL's default) is raised to it, so
  /// replay never pauses on them (hot_standby_params.h). 0 = no floor.
  HotStandbyParams floors;
  // Standby side (empty upstream_host: no streaming, e.g. a standby with no primary yet).
  bool standby = false;
  std::string upstream_host;
  uint16_t upstream_port = 0;
  std::string replication_user;
  std::string passfile;
  std::string slot_name;
  // pg_hba
  std::string superuser;
  std::vector<std::string> member_addresses;
  std::vector<std::string> hba_extra;  // operator rules, below the managed block
};

constexpr const char* kManagedConfName = "pgwarden.conf";
constexpr const char* kHbaBegin = "# BEGIN pgwarden managed block";
constexpr const char* kHbaEnd = "# END pgwarden managed block";
constexpr const char* kHbaExtraBegin = "# BEGIN pgwarden hba_extra";
constexpr const char* kHbaExtraEnd = "# END pgwarden hba_extra";

/// Keys only pgwarden may set; the same keys in [postgresql.parameters] are
/// ignored (with a warning) and stripped from postgresql.auto.conf.
bool is_owned_parameter(const std::string& name);

/// 'value' for postgresql.conf: backslashes doubled, quotes doubled.
std::string conf_quote(const std::string& value);
/// 'value' for a libpq conninfo string: backslash-escaped quotes/backslashes.
std::string conninfo_quote(const std::string& value);
/// The line of a pgpass file for `user` with `password` (any host/port/db).
std::string pgpass_line(const std::string& user, const std::string& password);
/// host=... port=... user=... passfile=... application_name=... — no password.
std::string replication_conninfo(const std::string& host, uint16_t port, const std::string& user,
                                 const std::string& passfile, const std::string& app_name,
                                 const std::string& dbname = "");

/// Text of pgwarden.conf. `warnings` receives ignored parameters.
std::string render_managed_conf(const ManagedConf& c, std::vector<std::string>* warnings);
/// The pg_hba block (with its markers).
std::string render_hba_block(const ManagedConf& c);
/// `existing` with its managed block replaced (or, if absent, the block
/// prepended). False if a BEGIN marker has no END (refuse to guess).
bool splice_hba(const std::string& existing, const std::string& block, std::string* out,
                std::string* error);
/// The block of hba_extra rules (with its own markers), "" when there are
/// none. Lines that are not one rule (a line break inside) are dropped with
/// a warning: conf/ validated them already.
std::string render_hba_extra_block(const ManagedConf& c, std::vector<std::string>* warnings);
/// `existing` (already spliced: it has the managed block) with its hba_extra
/// block replaced by `block`, placed right after the managed block's END
/// line — below pgwarden's rules, above the operator's own — or removed
/// when `block` is empty. False if a marker is unpaired.
bool splice_hba_extra(const std::string& existing, const std::string& block, std::string* out,
                      std::string* error);
/// postgresql.conf text with the include line appended if it is missing.
std::string ensure_include(const std::string& postgresql_conf, bool* changed);
/// postgresql.auto.conf text without lines that set owned parameters.
std::string strip_owned_from_auto_conf(const std::string& text, std::vector<std::string>* removed);

/// Writes pgwarden.conf, the include line, the pg_hba block and the signal
/// files in `data_dir`. `server_stopped` also cleans postgresql.auto.conf.
bool write_managed_files(const std::string& data_dir, const ManagedConf& c, bool server_stopped,
                         std::string* error);

}  // namespace pw::pgctl
