// consensus/raft_log.cc — see raft_log.h. Broken invariants (overwriting a
// committed entry, committing beyond the log) abort: they mean the Raft
// implementation itself is wrong, and continuing could lose committed data.
#include "consensus/raft_log.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "base/log.h"

namespace pw::consensus {
namespace {
[[noreturn]] void invariant_failed(const std::string& what) {
  PW_ERROR("raft", "invariant broken: %s", what.c_str());
  fprintf(stderr, "raft invariant broken: %s\n", what.c_str());
  abort();
}
}  // namespace

void RaftLog::load(const Snapshot& snap, const std::vector<Entry>& entries, uint64_t commit) {
  snapshot_ = snap;
  entries_.clear();
  pending_snapshot_ = false;
  for (const Entry& e : entries) {
    if (e.index <= snap.index) {
      if (e.index == snap.index && e.term != snap.term)
        throw std::invalid_argument("stored entry " + std::to_string(e.index) + " has term " +
                                    std::to_string(e.term) + " but the snapshot there has term " +
                                    std::to_string(snap.term));
      continue;
    }
    if (e.index != last_index() + 1)
      throw std::invalid_argument("stored entries have a gap: expected index " +
                                  std::to_string(last_index() + 1) + ", found " +
                                  std::to_string(e.index));
    if (e.term < last_term())
      throw std::invalid_argument("stored entry " + std::to_string(e.index) + " has term " +
                                  std::to_string(e.term) + " lower than its predecessor's");
    entries_.push_back(e);
  }
  stable_ = last_index();
  applied_ = snap.index;
  committed_ = std::max(snap.index, std::min(commit, last_index()));
}

std::optional<uint64_t> RaftLog::term(uint64_t i) const {
  if (i == snapshot_.index) return snapshot_.term;
  if (i < snapshot_.index || i > last_index()) return std::nullopt;
  return entries_[i - snapshot_.index - 1].term;
}

bool RaftLog::match_term(uint64_t i, uint64_t t) const {
  auto x = term(i);
  return x && *x == t;
}

bool RaftLog::is_up_to_date(uint64_t last_idx, uint64_t lterm) const {
  uint64_t my_term = last_term();
  return lterm > my_term || (lterm == my_term && last_idx >= last_index());
}

const Entry* RaftLog::entry(uint64_t i) const {
  if (i <= snapshot_.index || i > last_index()) return nullptr;
  return &entries_[i - snapshot_.index - 1];
}

std::optional<uint64_t> RaftLog::maybe_append(uint64_t index, uint64_t log_term, uint64_t committed,
                                              const std::vector<Entry>& ents) {
  if (!match_term(index, log_term)) return std::nullopt;
  uint64_t last_new = index + ents.size();
  // Find the first entry that is new or conflicts; everything before it is
  // already in our log (log matching), so an old, duplicated app is a no-op.
  size_t k = 0;
  for (; k < ents.size(); ++k) {
    const Entry& e = ents[k];
    if (e.index <= snapshot_.index) continue;  // covered by our snapshot: committed, identical
    if (!match_term(e.index, e.term)) break;
  }
  if (k < ents.size()) {
    const Entry& first = ents[k];
    if (first.index <= committed_)
      invariant_failed("entry " + std::to_string(first.index) + " term " +
                       std::to_string(first.term) + " conflicts with committed index " +
                       std::to_string(committed_));
    append(std::vector<Entry>(ents.begin() + static_cast<ptrdiff_t>(k), ents.end()));
  }
  commit_to(std::min(committed, last_new));
  return last_new;
}

uint64_t RaftLog::append(const std::vector<Entry>& ents) {
  if (ents.empty()) return last_index();
  uint64_t first = ents.front().index;
  if (first <= snapshot_.index || first > last_index() + 1)
    invariant_failed("append at " + std::to_string(first) + " outside (" +
                     std::to_string(snapshot_.index) + ", " + std::to_string(last_index() + 1) +
                     "]");
  if (first <= committed_)
    invariant_failed("append would truncate committed index " + std::to_string(committed_));
  entries_.resize(first - snapshot_.index - 1);
  if (stable_ >= first) stable_ = first - 1;
  entries_.insert(entries_.end(), ents.begin(), ents.end());
  return last_index();
}

std::vector<Entry> RaftLog::slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  std::vector<Entry> out;
  if (lo < first_index() || hi > last_index() + 1 || lo > hi)
    invariant_failed("slice [" + std::to_string(lo) + ", " + std::to_string(hi) +
                     ") outside the log");
  uint64_t bytes = 0;
  for (uint64_t i = lo; i < hi; ++i) {
    const Entry& e = entries_[i - snapshot_.index - 1];
    bytes += e.data.size() + 32;
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

std::pair<uint64_t, uint64_t> RaftLog::find_conflict_by_term(uint64_t index, uint64_t t) const {
  if (index > last_index()) index = last_index();
  for (;;) {
    auto x = term(index);
    if (!x) return {index, 0};  // compacted: the caller will fall back to a snapshot
    if (*x <= t) return {index, *x};
    if (index == 0) return {0, 0};
    --index;
  }
}

void RaftLog::commit_to(uint64_t c) {
  if (c <= committed_) return;
  if (c > last_index())
    invariant_failed("commit " + std::to_string(c) + " beyond last index " +
                     std::to_string(last_index()));
  committed_ = c;
}

bool RaftLog::maybe_commit(uint64_t idx, uint64_t t) {
  if (idx > committed_ && match_term(idx, t)) {
    commit_to(idx);
    return true;
  }
  return false;
}

void RaftLog::applied_to(uint64_t i) {
  if (i == 0) return;
  if (i > committed_ || i < applied_)
    invariant_failed("applied " + std::to_string(i) + " outside [" + std::to_string(applied_) +
                     ", " + std::to_string(committed_) + "]");
  applied_ = i;
}

void RaftLog::stable_to(uint64_t i, uint64_t t) {
  if (match_term(i, t) && i > stable_) stable_ = i;
}

std::vector<Entry> RaftLog::unstable_entries() const {
  if (!has_unstable()) return {};
  uint64_t lo = std::max(stable_ + 1, first_index());
  return std::vector<Entry>(entries_.begin() + static_cast<ptrdiff_t>(lo - snapshot_.index - 1),
                            entries_.end());
}

std::vector<Entry> RaftLog::next_committed() const {
  uint64_t lo = std::max(applied_, snapshot_.index) + 1;
  if (lo > committed_) return {};
  return std::vector<Entry>(
      entries_.begin() + static_cast<ptrdiff_t>(lo - snapshot_.index - 1),
      entries_.begin() + static_cast<ptrdiff_t>(committed_ - snapshot_.index));
}

void RaftLog::restore(const Snapshot& s) {
  snapshot_ = s;
  entries_.clear();
  committed_ = s.index;
  applied_ = s.index;
  stable_ = s.index;
  pending_snapshot_ = true;
}

void RaftLog::compact(uint64_t index, std::string data, std::string config) {
  if (index <= snapshot_.index || index > applied_)
    throw std::invalid_argument("cannot compact at " + std::to_string(index) + ": must be in (" +
                                std::to_string(snapshot_.index) + ", applied " +
                                std::to_string(applied_) + "]");
  uint64_t t = *term(index);
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<ptrdiff_t>(index - snapshot_.index));
  snapshot_ = Snapshot{index, t, std::move(data), std::move(config)};
}

}  // namespace pw::consensus
