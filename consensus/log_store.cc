// consensus/log_store.cc — see log_store.h for the on-disk layout.
//
// Crash reasoning, in short:
//  * appends go to the last segment only and are fsync'ed before returning,
//    so only the last record of the last segment can be half-written;
//  * a suffix is removed by deleting whole later segments first (newest
//    first) and then truncating, so a crash in between leaves a contiguous log;
//  * snapshots are written (atomically) before any segment they cover is
//    deleted; a received snapshot that replaces the log is reconciled at open:
//    entries after it survive only if the log agrees with it at its index.
#include "consensus/log_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "base/log.h"
#include "consensus/codec.h"
#include "consensus/crc32c.h"
#include "consensus/durable_file.h"

namespace pw::consensus {
namespace {

constexpr char kSegMagic[4] = {'P', 'W', 'L', 'S'};
constexpr uint8_t kSegVersion = 1;
constexpr size_t kSegHeader = 16;
constexpr size_t kRecHeader = 12;
constexpr size_t kMinPayload = 17;          // term + index + type
constexpr uint32_t kMaxPayload = 1u << 30;  // sanity bound on a record
constexpr char kHardState[] = "hardstate";
constexpr char kSnapshot[] = "snapshot";

uint32_t get32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
uint64_t get64(const unsigned char* p) {
  return (uint64_t(get32(p)) << 32) | get32(p + 4);
}

std::string segment_name(uint64_t first_index) {
  char buf[48];
  snprintf(buf, sizeof buf, "log-%020llu.seg", static_cast<unsigned long long>(first_index));
  return buf;
}

std::string advice(const std::string& dir) {
  return " The other members hold the replicated log: stop this node, move its state directory "
         "aside (mv " +
         dir + " " + dir +
         ".corrupt), and start it again; it will resync from its peers. Keep the moved copy for "
         "analysis.";
}

std::string encode_record(const Entry& e) {
  Writer p;
  p.u64(e.term);
  p.u64(e.index);
  p.u8(static_cast<uint8_t>(e.type));
  p.str().append(e.data);
  std::string payload = p.take();
  Writer h;
  h.u32(static_cast<uint32_t>(payload.size()));
  h.u32(crc32c(payload));
  h.u32(crc32c(h.str()));
  std::string out = h.take();
  out += payload;
  return out;
}

}  // namespace

LogStore::LogStore(const LogStoreOptions& opts) : opts_(opts) {
  make_dirs(opts_.dir);
  if (!opts_.identity.cluster_name.empty()) check_identity(opts_.dir, opts_.identity, opts_.check_members);
  load();
}

LogStore::~LogStore() {
  close_active();
}

void LogStore::close_active() {
  if (active_fd_ >= 0) ::close(active_fd_);
  active_fd_ = -1;
}

uint64_t LogStore::first_index() const {
  return segments_.empty() ? base_index_ + 1 : segments_.front().first_index;
}

uint64_t LogStore::last_index() const {
  return segments_.empty() ? base_index_ : segments_.back().last_index();
}

void LogStore::load() {
  const std::string& dir = opts_.dir;
  // Hard state.
  std::string raw;
  std::string hs_path = dir + "/" + kHardState;
  if (read_file(hs_path, &raw)) {
    auto* p = reinterpret_cast<const unsigned char*>(raw.data());
    if (raw.size() != 33 || memcmp(p, "PWHS", 4) != 0 || p[4] != 1 ||
        crc32c(p, 29) != get32(p + 29))
      throw std::runtime_error("raft hard state file " + hs_path + " is corrupt (size " +
                               std::to_string(raw.size()) +
                               ", byte offset 0: bad magic, version or checksum)." + advice(dir));
    hard_ = HardState{get64(p + 5), get64(p + 13), get64(p + 21)};
    hard_written_ = true;
  }
  // Snapshot.
  std::string sn_path = dir + "/" + kSnapshot;
  if (read_file(sn_path, &raw)) {
    auto* p = reinterpret_cast<const unsigned char*>(raw.data());
    bool ok = raw.size() >= 29 && memcmp(p, "PWSN", 4) == 0 && (p[4] == 1 || p[4] == 2) &&
              crc32c(p, raw.size() - 4) == get32(p + raw.size() - 4);
    size_t data_len = ok ? get32(p + 21) : 0, cfg_len = 0;
    if (ok && p[4] == 1) ok = data_len == raw.size() - 29;
    if (ok && p[4] == 2) {
      ok = data_len <= raw.size() - 33;
      if (ok) cfg_len = get32(p + 25 + data_len);
      ok = ok && cfg_len == raw.size() - 33 - data_len && cfg_len > 0;
    }
    if (!ok)
      throw std::runtime_error(
          "raft snapshot file " + sn_path + " is corrupt (size " + std::to_string(raw.size()) +
          ", byte offset 0: bad magic, version, length or checksum)." + advice(dir));
    snapshot_.index = get64(p + 5);
    snapshot_.term = get64(p + 13);
    snapshot_.data.assign(raw.data() + 25, data_len);
    if (cfg_len) snapshot_.config.assign(raw.data() + 29 + data_len, cfg_len);
  }
  // Segments, in index order.
  DIR* d = opendir(dir.c_str());
  if (!d) throw_errno("cannot list state directory", dir);
  std::vector<std::pair<uint64_t, std::string>> names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".tmp") == 0) {
      ::unlink((dir + "/" + n).c_str());  // an atomic replacement that never completed
      continue;
    }
    unsigned long long first = 0;
    char tail[8] = {0};
    if (n.size() == 28 && sscanf(n.c_str(), "log-%20llu.%3s", &first, tail) == 2 &&
        strcmp(tail, "seg") == 0)
      names.emplace_back(first, dir + "/" + n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  std::vector<Entry> entries;
  for (size_t i = 0; i < names.size(); ++i) {
    Segment seg;
    seg.path = names[i].second;
    seg.first_index = names[i].first;
    bool last = i + 1 == names.size();
    if (!segments_.empty() && seg.first_index != segments_.back().last_index() + 1)
      throw std::runtime_error(
          "raft log segment " + seg.path + " starts at index " + std::to_string(seg.first_index) +
          " but the previous segment ends at " + std::to_string(segments_.back().last_index()) +
          " (byte offset 0: segment missing?)." + advice(dir));
    load_segment(seg, last, &entries);
    if (seg.size == 0) continue;  // torn creation of the newest segment: removed
    if (seg.offsets.empty() && !last)
      throw std::runtime_error("raft log segment " + seg.path +
                               " holds no record but is not the newest (byte offset " +
                               std::to_string(kSegHeader) + ")." + advice(dir));
    segments_.push_back(std::move(seg));
  }
  // Reconcile with the snapshot (see the file comment).
  base_index_ = snapshot_.index;
  if (!snapshot_.empty()) {
    uint64_t first = first_index(), last = last_index();
    bool covers = !segments_.empty() && first <= snapshot_.index && snapshot_.index <= last;
    bool agrees = false;
    if (covers) {
      const Entry& e = entries[snapshot_.index - first];
      agrees = e.term == snapshot_.term;
    }
    if (!segments_.empty() && first > snapshot_.index + 1)
      throw std::runtime_error("raft log in " + dir + " starts at index " + std::to_string(first) +
                               " but the snapshot ends at " + std::to_string(snapshot_.index) +
                               ": entries in between are missing (byte offset 0 of " +
                               segments_.front().path + ")." + advice(dir));
    bool follows =
        !segments_.empty() && first == snapshot_.index + 1;  // log written after an install
    if (!segments_.empty() && !follows && (!covers || !agrees) && last > snapshot_.index) {
      PW_WARN("raft",
              "state_dir=%s log disagrees with snapshot index=%llu term=%llu: discarding log "
              "(interrupted "
              "snapshot install)",
              dir.c_str(), (unsigned long long)snapshot_.index, (unsigned long long)snapshot_.term);
      drop_all_segments();
      entries.clear();
    } else if (!segments_.empty() && last <= snapshot_.index) {
      // Everything stored is covered by the snapshot.
      drop_all_segments();
      entries.clear();
    }
    base_index_ = snapshot_.index;
  } else if (!segments_.empty() && segments_.front().first_index != 1) {
    throw std::runtime_error(
        "raft log in " + dir + " starts at index " + std::to_string(segments_.front().first_index) +
        " but there is no snapshot covering the entries before it (byte offset 0 of " +
        segments_.front().path + ")." + advice(dir));
  }
  initial_.hard_state = hard_;
  initial_.snapshot = snapshot_;
  for (Entry& e : entries)
    if (e.index > snapshot_.index) initial_.entries.push_back(std::move(e));
  if (!segments_.empty()) {
    active_fd_ = ::open(segments_.back().path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (active_fd_ < 0) throw_errno("cannot open log segment", segments_.back().path);
  }
}

void LogStore::load_segment(Segment& seg, bool last, std::vector<Entry>* out) {
  std::string raw;
  if (!read_file(seg.path, &raw)) throw_errno("log segment vanished:", seg.path);
  const std::string& dir = opts_.dir;
  auto corrupt = [&](uint64_t off, const std::string& what) {
    return std::runtime_error("raft log segment " + seg.path + " is corrupt at byte offset " +
                              std::to_string(off) + ": " + what + "." + advice(dir));
  };
  auto truncate_torn = [&](uint64_t off, const char* why) {
    PW_WARN(
        "raft",
        "segment=%s torn record at offset=%llu (%s; crash during an append): truncating %llu bytes",
        seg.path.c_str(), (unsigned long long)off, why, (unsigned long long)(raw.size() - off));
    if (::truncate(seg.path.c_str(), static_cast<off_t>(off)) != 0)
      throw_errno("cannot truncate", seg.path);
    int fd = ::open(seg.path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) throw_errno("cannot fsync", seg.path);
    ::close(fd);
    raw.resize(off);
  };
  auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  if (raw.size() < kSegHeader) {
    if (!last) throw corrupt(0, "segment header truncated");
    // Crash while creating the newest segment: it holds nothing yet.
    PW_WARN("raft", "segment=%s torn segment header (%zu bytes): removing it", seg.path.c_str(),
            raw.size());
    if (::unlink(seg.path.c_str()) != 0) throw_errno("cannot remove", seg.path);
    fsync_dir(dir);
    seg.size = 0;
    return;
  }
  if (memcmp(p, kSegMagic, 4) != 0 || p[4] != kSegVersion || p[5] || p[6] || p[7])
    throw corrupt(0, "bad segment magic or version");
  if (get64(p + 8) != seg.first_index)
    throw corrupt(8, "segment header names another first index than its file name");
  uint64_t off = kSegHeader;
  while (off < raw.size()) {
    size_t rem = raw.size() - off;
    if (rem < kRecHeader) {
      if (!last) throw corrupt(off, "record header truncated");
      truncate_torn(off, "incomplete record header");
      break;
    }
    const unsigned char* h = p + off;
    if (crc32c(h, 8) != get32(h + 8)) {
      bool zeros = std::all_of(raw.begin() + static_cast<ptrdiff_t>(off), raw.end(),
                               [](char c) { return c == 0; });
      if (last && zeros) {
        truncate_torn(off, "zero-filled tail");
        break;
      }
      throw corrupt(off, "record header checksum mismatch");
    }
    uint32_t len = get32(h);
    if (len < kMinPayload || len > kMaxPayload)
      throw corrupt(off, "impossible record length " + std::to_string(len));
    if (rem - kRecHeader < len) {
      if (!last) throw corrupt(off, "record extends past the end of the segment");
      truncate_torn(off, "incomplete record");
      break;
    }
    const unsigned char* pl = h + kRecHeader;
    if (crc32c(pl, len) != get32(h + 4)) {
      if (last && off + kRecHeader + len == raw.size()) {
        truncate_torn(off, "last record fails its checksum");
        break;
      }
      throw corrupt(off, "record checksum mismatch");
    }
    Entry e;
    e.term = get64(pl);
    e.index = get64(pl + 8);
    uint8_t type = pl[16];
    if (type > static_cast<uint8_t>(EntryType::config))
      throw corrupt(off, "unknown entry type " + std::to_string(type));
    e.type = static_cast<EntryType>(type);
    uint64_t expect = seg.first_index + seg.offsets.size();
    if (e.index != expect)
      throw corrupt(off, "record holds index " + std::to_string(e.index) + ", expected " +
                             std::to_string(expect));
    e.data.assign(reinterpret_cast<const char*>(pl + kMinPayload), len - kMinPayload);
    seg.offsets.push_back(off);
    out->push_back(std::move(e));
    off += kRecHeader + len;
  }
  seg.size = raw.size();
}

void LogStore::open_new_segment(uint64_t first_index) {
  close_active();
  Segment seg;
  seg.first_index = first_index;
  seg.path = opts_.dir + "/" + segment_name(first_index);
  int fd = ::open(seg.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) throw_errno("cannot create log segment", seg.path);
  Writer w;
  w.str().append(kSegMagic, 4);
  w.u8(kSegVersion);
  w.u8(0), w.u8(0), w.u8(0);
  w.u64(first_index);
  try {
    write_all(fd, w.str().data(), w.str().size(), seg.path);
    if (::fsync(fd) != 0) throw_errno("cannot fsync", seg.path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  fsync_dir(opts_.dir);
  seg.size = kSegHeader;
  active_fd_ = fd;
  segments_.push_back(std::move(seg));
}

void LogStore::append(const std::vector<Entry>& ents) {
  if (ents.empty()) return;
  for (size_t i = 1; i < ents.size(); ++i)
    if (ents[i].index != ents[i - 1].index + 1)
      throw std::logic_error("LogStore::append: entries not contiguous");
  uint64_t first = ents.front().index;
  if (first <= snapshot_.index || first < first_index() || first > last_index() + 1)
    throw std::logic_error("LogStore::append at index " + std::to_string(first) + " outside [" +
                           std::to_string(std::max(first_index(), snapshot_.index + 1)) + ", " +
                           std::to_string(last_index() + 1) + "]");
  if (first <= last_index()) truncate_from(first);
  size_t i = 0;
  while (i < ents.size()) {
    if (segments_.empty() ||
        (segments_.back().size >= opts_.segment_bytes && !segments_.back().offsets.empty())) {
      if (!segments_.empty() && ::fdatasync(active_fd_) != 0)
        throw_errno("cannot fsync", segments_.back().path);
      open_new_segment(ents[i].index);
    }
    Segment& seg = segments_.back();
    std::string buf;
    // Fill this segment up to its size (at least one record), in bounded writes.
    while (i < ents.size() && buf.size() < (1u << 20) &&
           (seg.size + buf.size() < opts_.segment_bytes || (seg.offsets.empty() && buf.empty()))) {
      seg.offsets.push_back(seg.size + buf.size());
      buf += encode_record(ents[i++]);
    }
    write_all(active_fd_, buf.data(), buf.size(), seg.path);
    seg.size += buf.size();
  }
  // Durable before returning: the caller acknowledges these entries next.
  if (::fdatasync(active_fd_) != 0) throw_errno("cannot fsync", segments_.back().path);
}

void LogStore::truncate_from(uint64_t index) {
  // Newest segments first, so a crash midway leaves a contiguous prefix.
  bool removed = false;
  while (!segments_.empty() && segments_.back().first_index >= index) {
    close_active();
    if (::unlink(segments_.back().path.c_str()) != 0)
      throw_errno("cannot remove log segment", segments_.back().path);
    segments_.pop_back();
    removed = true;
  }
  if (removed) fsync_dir(opts_.dir);
  if (segments_.empty()) {
    base_index_ = index - 1;
    return;
  }
  Segment& seg = segments_.back();
  if (seg.last_index() >= index) {
    uint64_t off = seg.offsets[index - seg.first_index];
    close_active();
    if (::truncate(seg.path.c_str(), static_cast<off_t>(off)) != 0)
      throw_errno("cannot truncate", seg.path);
    seg.offsets.resize(index - seg.first_index);
    seg.size = off;
  }
  if (active_fd_ < 0) {
    active_fd_ = ::open(seg.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (active_fd_ < 0) throw_errno("cannot open log segment", seg.path);
    if (::fsync(active_fd_) != 0)
      throw_errno("cannot fsync", seg.path);  // makes the truncation durable
  }
}

void LogStore::drop_all_segments() {
  close_active();
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it)
    if (::unlink(it->path.c_str()) != 0 && errno != ENOENT)
      throw_errno("cannot remove log segment", it->path);
  segments_.clear();
  fsync_dir(opts_.dir);
}

void LogStore::save_hard_state(const HardState& hs) {
  Writer w;
  w.str() = "PWHS";
  w.u8(1);
  w.u64(hs.term);
  w.u64(hs.vote);
  w.u64(hs.commit);
  w.u32(crc32c(w.str()));
  // Term and vote must be durable before any message depends on them. A
  // change of the commit index alone is only a hint for the replay after a
  // restart (the leader re-establishes it), so it skips the directory fsync:
  // a crash may bring back the previous file, which has the same term and vote.
  bool sync_dir = hs.term != hard_.term || hs.vote != hard_.vote || !hard_written_;
  write_file_atomic(opts_.dir, kHardState, w.str(), sync_dir);
  hard_written_ = true;
  hard_ = hs;
}

namespace {
std::string encode_snapshot(const Snapshot& s) {
  Writer w;
  w.str() = "PWSN";
  // Version 2 adds the membership; a snapshot without one stays version 1,
  // readable by versions before membership changes.
  w.u8(s.config.empty() ? 1 : 2);
  w.u64(s.index);
  w.u64(s.term);
  w.bytes(s.data);
  if (!s.config.empty()) w.bytes(s.config);
  w.u32(crc32c(w.str()));
  return w.take();
}
}  // namespace

void LogStore::save_snapshot(const Snapshot& s) {
  if (s.index <= snapshot_.index) return;
  write_file_atomic(opts_.dir, kSnapshot, encode_snapshot(s));
  snapshot_ = s;
  // Whole segments below the snapshot go; the newest one always stays (it is
  // where appends continue), as does the one holding the snapshot index.
  size_t drop = 0;
  while (drop + 1 < segments_.size() && segments_[drop].last_index() <= s.index) ++drop;
  for (size_t i = 0; i < drop; ++i)
    if (::unlink(segments_[i].path.c_str()) != 0)
      throw_errno("cannot remove log segment", segments_[i].path);
  if (drop) {
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(drop));
    fsync_dir(opts_.dir);
  }
  if (segments_.empty() || last_index() < s.index) {
    drop_all_segments();
    base_index_ = s.index;
  }
}

void LogStore::apply_snapshot(const Snapshot& s) {
  write_file_atomic(opts_.dir, kSnapshot, encode_snapshot(s));
  snapshot_ = s;
  drop_all_segments();
  base_index_ = s.index;
}

}  // namespace pw::consensus
