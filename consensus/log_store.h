// consensus/log_store.h — durable storage of one node's Raft state in its
// state directory ([node] state_dir):
//
//   identity            cluster name + members (identity.h)
//   hardstate           term, vote, commit — replaced atomically
//   snapshot            latest snapshot (index, term, data) — replaced atomically
//   log-<first index, 20 digits>.seg   append-only log segments
//
// Segment: 16-byte header ("PWLS", u8 version=1, 3 zero bytes, u64 first
// index), then records. Record: u32 payload length, u32 crc32c(payload),
// u32 crc32c(the two previous fields), payload = u64 term, u64 index,
// u8 entry type, data. Integers big-endian.
//
// Atomic replacement = write `<name>.tmp`, fsync, rename over `<name>`,
// fsync the directory. Every mutating call is durable (fsync'ed) when it
// returns, so the caller may then send the messages that depend on it.
//
// Open: a torn last record of the last segment (a crash in the middle of an
// append: incomplete record, or a final record failing its CRC) is truncated
// and logged with PW_WARN. Corruption anywhere else throws std::runtime_error
// naming the file, the byte offset and what the operator can do.
//
// Not thread-safe. All errors are std::runtime_error with the path and errno text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "consensus/core.h"
#include "consensus/identity.h"
#include "consensus/message.h"

namespace pw::consensus {

struct LogStoreOptions {
  std::string dir;                       ///< created (mode 0700) if missing
  uint64_t segment_bytes = 64ull << 20;  ///< roll to a new segment past this size
  /// If cluster_name is set, check_identity(dir, identity, check_members) runs first.
  ClusterIdentity identity;
  bool check_members = true;
};

class LogStore {
 public:
  /// Opens (creating if needed) and loads the state directory. Throws
  /// std::runtime_error on corruption (file + offset + advice), identity
  /// mismatch, or I/O errors.
  explicit LogStore(const LogStoreOptions& opts);
  ~LogStore();
  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  /// What was on disk at open, ready for Core's constructor. Entries are the
  /// stored ones (possibly starting below snapshot.index + 1; Core skips those).
  const InitialState& initial_state() const { return initial_; }

  /// Appends `ents` (contiguous) durably. If ents[0].index <= last_index()
  /// the stored suffix from ents[0].index is removed first (a conflicting
  /// suffix replaced by the leader). Throws std::logic_error if ents[0].index
  /// > last_index() + 1 or below first_index(). No-op for an empty vector.
  void append(const std::vector<Entry>& ents);

  /// Persists the hard state atomically. Durable on return when term or vote
  /// changed; a change of the commit index alone (a replay hint, not needed
  /// for safety) skips the directory fsync, saving one fsync per commit.
  void save_hard_state(const HardState& hs);

  /// Snapshot produced locally by Core::compact: persists it atomically, then
  /// deletes the log segments whose entries are all <= s.index.
  void save_snapshot(const Snapshot& s);

  /// Snapshot received from the leader (Ready::snapshot): persists it
  /// atomically and discards the whole log; the next append starts at s.index + 1.
  void apply_snapshot(const Snapshot& s);

  /// First stored entry index (snapshot.index + 1 when the log is empty).
  uint64_t first_index() const;
  /// Last stored entry index (snapshot.index when the log is empty).
  uint64_t last_index() const;
  const HardState& hard_state() const { return hard_; }
  const Snapshot& snapshot() const { return snapshot_; }
  const std::string& dir() const { return opts_.dir; }
  /// Number of segment files (for tests of compaction and rolling).
  size_t segment_count() const { return segments_.size(); }

 private:
  struct Segment {
    std::string path;
    uint64_t first_index = 0;  // index of the first record
    std::vector<uint64_t>
        offsets;        // byte offset of each record; entry i at offsets[i - first_index]
    uint64_t size = 0;  // bytes in the file
    uint64_t last_index() const { return first_index + offsets.size() - 1; }
  };

  void load();
  void load_segment(Segment& seg, bool last, std::vector<Entry>* out);
  void open_new_segment(uint64_t first_index);
  void truncate_from(uint64_t index);
  void drop_all_segments();
  void close_active();

  LogStoreOptions opts_;
  InitialState initial_;
  HardState hard_;
  bool hard_written_ = false;  // a hardstate file exists (so commit-only updates may skip the dir fsync)
  Snapshot snapshot_;
  std::vector<Segment> segments_;  // ascending first_index; contiguous
  int active_fd_ = -1;             // fd of segments_.back(), opened for append
  uint64_t base_index_ = 0;        // last_index() when there is no segment
};

}  // namespace pw::consensus
