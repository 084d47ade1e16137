// pgctl/timeline_files.h — the timeline history files pgwarden writes into
// pg_wal so that a promotion lands above every timeline the cluster has
// recorded (docs/operations.md, "Timelines"; docs/postgres.md).
//
// PostgreSQL picks a promoted server's timeline as findNewestTimeLine()+1:
// starting from its recovery target timeline it probes `<tli>.history` for
// tli+1, tli+2, ... and stops at the first id without one. A standby that
// never saw the history of a timeline another server opened (its primary
// died before it followed) would pick that same id again: two histories
// under one id, which pg_rewind and streaming then take for one.
//
// A *placeholder* `<n>.history` holds only '#' comment lines; it is written
// only for ids above the server's own timeline and below the promotion's
// floor (ids the cluster already handed out). Why it is safe:
//  * PostgreSQL parses a history file only for a timeline it runs on or
//    targets: the one in pg_control or a backup label (the server's own,
//    whose real file it has — pg_rewind reads exactly those on both sides,
//    and a walsender its own), or the newest id a standby finds by probing.
//    A placeholder is only ever probed (existsTimeLineHistory) and copied
//    (a walreceiver fetches every history between its timeline and its
//    primary's; pg_rewind copies the source's files, and the source's
//    pg_control with them, so the target is on the source's timeline).
//  * Parsed anyway, it would read as "timeline n, no parents"
//    (readTimeLineHistory skips comment lines), and that only happens when a
//    placeholder sits above every real history on a standby: a promotion
//    that did not happen. Running, such a standby refuses it
//    (rescanLatestTimeLine: "new timeline n is not a child of database
//    system timeline m", a LOG line) and recovery goes on; at startup it
//    becomes the recovery target and recovery stops there (PostgreSQL 15,
//    tried: "unexpected timeline ID 1 in log segment ...", the standby never
//    becomes consistent; the source also has a FATAL "requested timeline n
//    is not a child of this server's history" for it). So
//    remove_dangling_placeholders() runs before every start as a standby.
//  * The new primary keeps its placeholders: a walreceiver's fetch fails on
//    an id its primary has no file for.
//  * They are never marked for archiving: an archive that already holds the
//    real history of that id (the dead primary archived it) would refuse
//    the upload and stall archiving. A point-in-time restore from an old
//    base backup with recovery_target_timeline = 'latest' stops at the
//    first id missing from the archive: name the timeline explicitly there.
// Placeholders are never overwritten onto an existing file (link(), not
// rename()), and only files that start with kPlaceholderMarker are ever
// removed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pw::pgctl {

/// First line of every placeholder; how pgwarden recognizes its own.
extern const char* const kPlaceholderMarker;

/// "0000000A.history" for 10.
std::string history_file_name(uint32_t tli);

/// What pg_wal holds: ids with a real history file, ids with a placeholder.
struct HistoryFiles {
  std::vector<uint32_t> real;          // ascending
  std::vector<uint32_t> placeholders;  // ascending
  uint32_t newest_real() const { return real.empty() ? 0 : real.back(); }
};
bool list_history_files(const std::string& data_dir, HistoryFiles* out, std::string* error);

/// Makes sure `<n>.history` exists in pg_wal for every n in [from, to]
/// (n >= 2; timeline 1 has none): writes a placeholder where no file is
/// (fsynced, then linked into place: an existing file is never replaced).
/// `*written` receives the ids written. False with `*error` on an I/O error.
bool reserve_timeline_ids(const std::string& data_dir, uint32_t from, uint32_t to,
                          std::vector<uint32_t>* written, std::string* error);

/// Removes the placeholders above `timeline` (the data directory's own) and
/// above every real history file: left by a promotion that did not happen,
/// they would stop the next start as a standby. `*removed` receives the ids.
bool remove_dangling_placeholders(const std::string& data_dir, uint32_t timeline,
                                  std::vector<uint32_t>* removed, std::string* error);

/// The switchpoint of `ancestor` in a timeline history's text (a
/// `<tli>.history` file): the LSN its line names, where the history left
/// `ancestor` for its child. False when no line names `ancestor` (comment
/// and malformed lines are skipped, as PostgreSQL's readTimeLineHistory
/// does; a placeholder has no entries at all).
bool history_switchpoint(const std::string& text, uint32_t ancestor, uint64_t* lsn);

/// What `<tli>.history` in pg_wal says about `ancestor` (history_switchpoint).
/// A standby's walreceiver fetches the history of its primary's timeline
/// before it asks for WAL, so a standby told to follow a new primary has
/// the file within a round trip — also when PostgreSQL then refuses the
/// timeline because replay went past its fork ("new timeline N forked off
/// current database system timeline M before current recovery point").
enum class Switchpoint { found, no_file, not_listed };
Switchpoint read_switchpoint(const std::string& data_dir, uint32_t tli, uint32_t ancestor, uint64_t* lsn,
                             std::string* error);

}  // namespace pw::pgctl
