// ha/handoff.h — what survives an in-place restart of pgwarden (the daemon
// execve()s a new image of itself in the same process, node/reexec.h): the
// agent's part (AgentHandoff: the lease it holds, how far it applied the
// log, what it knows of its PostgreSQL) and the record that carries it with
// the daemon's part (node/handoff.h) to the new image.
//
// The record is text, `key=value` fields separated by spaces, values
// percent-encoded. It must stay readable across versions, since the new
// image may be an upgrade (or a downgrade): readers ignore keys they do not
// know, and `compat` is the oldest record version a reader must understand
// to use it (raise it only for a change an older reader would misread).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pw::node {

/// Record version written by this build, and the oldest version it reads.
inline constexpr uint64_t kHandoffVersion = 1;
inline constexpr uint64_t kHandoffCompat = 1;

/// key=value fields of a hand-off record. Setters overwrite; getters return
/// false (and leave *out alone) when the key is absent or malformed.
class HandoffFields {
 public:
  void set(const std::string& key, const std::string& value) { kv_[key] = value; }
  void set_u64(const std::string& key, uint64_t v) { kv_[key] = std::to_string(v); }
  void set_i64(const std::string& key, int64_t v) { kv_[key] = std::to_string(v); }
  void set_list(const std::string& key, const std::vector<std::string>& v);
  bool get(const std::string& key, std::string* out) const;
  bool get_u64(const std::string& key, uint64_t* out) const;
  bool get_i64(const std::string& key, int64_t* out) const;
  bool get_list(const std::string& key, std::vector<std::string>* out) const;

  /// "v=1 compat=1 key=value ..." (v and compat from this build).
  std::string encode() const;
  /// Total: any text yields fields or nullopt with `*error` set (not a
  /// record, a `compat` newer than this build reads, a malformed field).
  static std::optional<HandoffFields> decode(const std::string& text, std::string* error);

 private:
  std::map<std::string, std::string> kv_;
};

/// The agent's state across the restart.
struct AgentHandoff {
  uint64_t epoch = 0;           // epoch of the lock this node held (0: not the primary)
  int64_t lease_until_ms = 0;   // its lease, on the monotonic clock (same host: same clock)
  uint64_t applied_index = 0;   // raft index applied when the old image left
  bool made_primary = false;    // PostgreSQL runs read-write under our control
  bool pg_running = false;      // PostgreSQL was running, as the agent knew it
  bool needs_rewind = false;
  std::string following;        // the primary a running standby was pointed at
  uint64_t prepared_epoch = 0;  // the primary's role and slots exist for this epoch
  uint64_t slots_roster_epoch = 0;
  uint64_t sync_epoch = 0;      // synchronous_standby_names is managed for this epoch ...
  std::vector<std::string> sync_names;  // ... and holds these members
  uint64_t sync_k = 0;                  // ... ANY k of them (missing: 1)

  void write(HandoffFields* f) const;
  /// Reads what `f` has; missing fields keep their defaults (an older
  /// writer), so a record always yields a conservative state.
  static AgentHandoff read(const HandoffFields& f);
};

}  // namespace pw::node
