// consensus/core_leader.cc — the leader's side of Raft: replication with
// per-follower flow control, commit by quorum (current-term entries only),
// heartbeats, check-quorum and leadership transfer.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "base/log.h"
#include "consensus/core.h"

namespace pw::consensus {

void Core::send(Message m) {
  m.from = opts_.id;
  bool termless =
      m.type == MsgType::prop || m.type == MsgType::prop_resp || m.type == MsgType::transfer_leader;
  if (termless) {
    m.term = 0;
  } else if (m.term == 0) {
    m.term = term_;
  }
  msgs_.push_back(std::move(m));
}

void Core::append_as_leader(EntryType type, std::string data, uint64_t* index) {
  Entry e;
  e.term = term_;
  e.index = log_.last_index() + 1;
  e.type = type;
  e.data = std::move(data);
  *index = e.index;
  std::optional<Membership> cfg;
  if (type == EntryType::config) {
    cfg = decode_membership(e.data, nullptr);  // validated by the proposer's checks
    if (cfg) {
      cfg->epoch = e.index;
      e.data = encode_membership(*cfg);  // the epoch is the entry's own index
    }
  }
  log_.append({std::move(e)});
  if (cfg) set_config(std::move(*cfg));
  // Our own match counts only once the entry is durable (see advance()).
}

bool Core::maybe_send_append(uint64_t to, bool send_if_empty) {
  Progress& pr = prs_.at(to);
  if (pr.is_paused(opts_.max_inflight)) return false;
  uint64_t prev = pr.next - 1;
  auto prev_term = log_.term(prev);
  if (!prev_term) {
    // The entries it needs were compacted away: send the snapshot instead.
    const Snapshot& snap = log_.snapshot();
    Message m;
    m.type = MsgType::snap;
    m.to = to;
    m.snapshot = snap;
    PW_DEBUG("raft", "id=%llu sending snapshot index=%llu to=%llu", (unsigned long long)opts_.id,
             (unsigned long long)snap.index, (unsigned long long)to);
    send(std::move(m));
    pr.become_snapshot(snap.index);
    return true;
  }
  std::vector<Entry> ents;
  if (pr.next <= log_.last_index())
    ents = log_.slice(pr.next, log_.last_index() + 1, opts_.max_msg_bytes);
  if (ents.empty() && !send_if_empty) return false;
  Message m;
  m.type = MsgType::app;
  m.to = to;
  m.index = prev;
  m.log_term = *prev_term;
  m.commit = log_.committed();
  uint64_t last = ents.empty() ? prev : ents.back().index;
  size_t n = ents.size();
  m.entries = std::move(ents);
  send(std::move(m));
  pr.sent(last, n);
  return true;
}

void Core::send_heartbeat(uint64_t to) {
  const Progress& pr = prs_.at(to);
  Message m;
  m.type = MsgType::heartbeat;
  m.to = to;
  // Never let a follower commit past what it is known to share with us.
  m.commit = std::min(pr.match, log_.committed());
  send(std::move(m));
}

void Core::bcast_append() {
  for (auto& [id, pr] : prs_) maybe_send_append(id, true);
}

void Core::bcast_heartbeat() {
  for (auto& [id, pr] : prs_) send_heartbeat(id);
}

bool Core::maybe_commit() {
  // Voters only; a leader that is not a voter itself (it is being
  // removed) counts the others and steps down once that commits.
  std::vector<uint64_t> matches;
  for (uint64_t v : config_.voters()) {
    if (v == opts_.id) {
      matches.push_back(log_.stable());
    } else {
      auto it = prs_.find(v);
      matches.push_back(it == prs_.end() ? 0 : it->second.match);
    }
  }
  if (matches.empty()) return false;
  std::sort(matches.begin(), matches.end(), std::greater<uint64_t>());
  uint64_t mci = matches[static_cast<size_t>(quorum() - 1)];
  // Only entries of the current term are committed by counting (§5.4.2).
  return log_.maybe_commit(mci, term_);
}

int64_t Core::leader_contact_age_ticks() const {
  if (role_ == Role::follower) return leader_heard_tick_ < 0 ? -1 : ticks_ - leader_heard_tick_;
  if (role_ != Role::leader) return -1;
  // Ages of the answers, self first (always current); never-answered
  // followers sort last. The quorum-th youngest is how long ago a quorum,
  // us included, last confirmed this term's leadership.
  std::vector<int64_t> ages;
  for (uint64_t v : config_.voters()) {
    if (v == opts_.id) {
      ages.push_back(0);
      continue;
    }
    auto it = prs_.find(v);
    ages.push_back(it == prs_.end() || it->second.last_answer_tick < 0
                       ? INT64_MAX
                       : ticks_ - it->second.last_answer_tick);
  }
  if (ages.empty()) return -1;
  std::sort(ages.begin(), ages.end());
  int64_t age = ages[static_cast<size_t>(quorum() - 1)];
  return age == INT64_MAX ? -1 : age;
}

bool Core::quorum_active() {
  int active = is_voter() ? 1 : 0;  // self
  for (auto& [id, pr] : prs_) {
    if (pr.recent_active && config_.is_voter(id)) ++active;
    pr.recent_active = false;
  }
  return active >= quorum();
}

void Core::abort_transfer(const char* why) {
  if (lead_transferee_ == 0) return;
  PW_INFO("raft", "id=%llu leadership transfer to=%llu aborted: %s", (unsigned long long)opts_.id,
          (unsigned long long)lead_transferee_, why);
  lead_transferee_ = 0;
}

void Core::tick_leader() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  uint64_t last = log_.last_index();
  for (auto& [id, pr] : prs_) {
    // An app or snapshot lost on the way leaves a follower behind with
    // nothing in flight that could fail; after an election timeout without
    // progress, fall back to probing, which re-discovers where it is.
    bool behind = (pr.state == Progress::State::replicate && pr.match < last) ||
                  pr.state == Progress::State::snapshot;
    if (!behind) {
      pr.stall_ticks = 0;
      continue;
    }
    if (++pr.stall_ticks >= opts_.election_ticks) {
      pr.become_probe();
      maybe_send_append(id, false);
    }
  }
  if (election_elapsed_ >= opts_.election_ticks) {
    election_elapsed_ = 0;
    if (opts_.check_quorum && !quorum_active()) {
      PW_INFO("raft", "id=%llu stepping down term=%llu: no quorum heard within an election timeout",
              (unsigned long long)opts_.id, (unsigned long long)term_);
      become_follower(term_, 0);
      return;
    }
    abort_transfer("not completed within an election timeout");
  }
  if (heartbeat_elapsed_ >= opts_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    bcast_heartbeat();
  }
}

void Core::step_leader(const Message& m) {
  auto it = prs_.find(m.from);
  if (it == prs_.end()) return;
  Progress& pr = it->second;
  switch (m.type) {
    case MsgType::app_resp: {
      pr.recent_active = true;
      pr.last_answer_tick = ticks_;  // a rejection, too, acknowledges this term's leader
      if (m.reject) {
        uint64_t next_probe = m.reject_hint;
        if (m.log_term > 0)
          next_probe = log_.find_conflict_by_term(m.reject_hint, m.log_term).first;
        uint64_t old_match = pr.match;
        if (pr.maybe_decr_to(m.index, next_probe)) {
          if (pr.match < old_match)
            PW_INFO("raft",
                    "id=%llu follower=%llu lost entries it had acknowledged (match=%llu, "
                    "it now has up to %llu): resending from there%s",
                    (unsigned long long)opts_.id, (unsigned long long)m.from,
                    (unsigned long long)old_match, (unsigned long long)pr.match,
                    log_.term(pr.match) ? "" : " (compacted: snapshot)");
          if (pr.state == Progress::State::replicate) pr.become_probe();
          maybe_send_append(m.from, true);
        }
        break;
      }
      if (m.index > log_.last_index()) {  // acknowledges entries we never had: a broken peer
        PW_WARN("raft", "id=%llu ignoring app_resp from=%llu index=%llu beyond last_index=%llu",
                (unsigned long long)opts_.id, (unsigned long long)m.from,
                (unsigned long long)m.index, (unsigned long long)log_.last_index());
        break;
      }
      bool was_paused = pr.is_paused(opts_.max_inflight);
      if (!pr.maybe_update(m.index)) break;
      if (pr.state == Progress::State::probe) {
        pr.become_replicate();
      } else if (pr.state == Progress::State::snapshot && pr.match >= pr.pending_snapshot) {
        pr.become_probe();
        pr.become_replicate();
      } else if (pr.state == Progress::State::replicate) {
        pr.free_inflight(m.index);
      }
      if (maybe_commit()) {
        bcast_append();
      } else if (was_paused) {
        maybe_send_append(m.from, false);
      }
      while (maybe_send_append(m.from, false)) {
      }
      if (m.from == lead_transferee_ && pr.match == log_.last_index()) {
        PW_INFO("raft", "id=%llu transfer target=%llu caught up: sending timeout_now",
                (unsigned long long)opts_.id, (unsigned long long)m.from);
        Message t;
        t.type = MsgType::timeout_now;
        t.to = m.from;
        send(std::move(t));
      }
      break;
    }
    case MsgType::heartbeat_resp: {
      pr.recent_active = true;
      pr.last_answer_tick = ticks_;
      pr.probe_sent = false;
      bool lost_log = m.reject && m.index < pr.match && pr.state == Progress::State::replicate;
      if (lost_log) {
        // It reports a log shorter than its match (wiped state dir). Only
        // probe: the probe's own rejection, which answers the one append in
        // flight, is what may lower match (Progress::maybe_decr_to), so a
        // stale or duplicated heartbeat answer costs one round trip at most.
        PW_INFO("raft",
                "id=%llu follower=%llu reports last_index=%llu below its match=%llu "
                "(state dir wiped?): probing to catch it up",
                (unsigned long long)opts_.id, (unsigned long long)m.from,
                (unsigned long long)m.index, (unsigned long long)pr.match);
        pr.become_probe();
      }
      // The follower is reachable: make room if the window filled up with
      // apps that were probably lost.
      if (pr.state == Progress::State::replicate && pr.inflight.size() >= opts_.max_inflight)
        pr.inflight.pop_front();
      // A lagging follower gets an append even when it would carry no
      // entries: after a snapshot sent to a dead follower, `next` can point
      // past the log, and only a probe's rejection (with its hint) moves it
      // back; without it the follower waited for the next proposal.
      if (pr.match < log_.last_index() || lost_log) maybe_send_append(m.from, true);
      break;
    }
    default:
      break;
  }
}

void Core::handle_transfer(uint64_t to) {
  if (!config_.is_voter(to) || to == opts_.id) return;
  if (lead_transferee_ == to) return;  // already in progress
  abort_transfer("superseded by a transfer to another node");
  lead_transferee_ = to;
  election_elapsed_ = 0;  // the transfer must finish within one election timeout
  Progress& pr = prs_.at(to);
  PW_INFO("raft", "id=%llu leadership transfer to=%llu term=%llu target_match=%llu last_index=%llu",
          (unsigned long long)opts_.id, (unsigned long long)to, (unsigned long long)term_,
          (unsigned long long)pr.match, (unsigned long long)log_.last_index());
  if (pr.match == log_.last_index()) {
    Message t;
    t.type = MsgType::timeout_now;
    t.to = to;
    send(std::move(t));
  } else {
    maybe_send_append(to, true);  // catch it up first; timeout_now follows its ack
  }
}

void Core::transfer_leadership(uint64_t to) {
  if (role_ == Role::leader) {
    handle_transfer(to);
    return;
  }
  if (lead_ == 0 || to == lead_ || !config_.is_voter(to)) return;
  Message m;
  m.type = MsgType::transfer_leader;
  m.to = lead_;
  m.target = to;
  send(std::move(m));
}

}  // namespace pw::consensus
