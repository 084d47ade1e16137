// consensus/core.cc — Raft role transitions, elections and the follower
// side. The leader side (replication, commit, transfer) is in
// core_leader.cc; proposal fates in core_proposals.cc.
//
// Term handling follows the Raft paper plus the pre-vote and check-quorum
// extensions: a pre-vote never changes anyone's term, and a node that heard
// from a leader within the election timeout ignores vote requests (unless a
// leadership transfer asked for them), so a node rejoining after a partition
// cannot depose a healthy leader.
#include "consensus/core.h"

#include <algorithm>
#include <stdexcept>

#include "base/log.h"

namespace pw::consensus {

const char* role_name(Role r) {
  switch (r) {
    case Role::follower:
      return "follower";
    case Role::pre_candidate:
      return "pre_candidate";
    case Role::candidate:
      return "candidate";
    case Role::leader:
      return "leader";
  }
  return "?";
}

Core::Core(const CoreOptions& opts, const InitialState& initial) : opts_(opts) {
  if (opts_.id == 0) throw std::invalid_argument("raft core: node id must be >= 1");
  std::sort(opts_.peers.begin(), opts_.peers.end());
  if (std::unique(opts_.peers.begin(), opts_.peers.end()) != opts_.peers.end())
    throw std::invalid_argument("raft core: duplicate peer id");
  if (!opts_.peers.empty() && opts_.peers.front() == 0)
    throw std::invalid_argument("raft core: peer id 0");
  if (opts_.initial_members.members.empty()) {
    std::vector<MemberInfo> seed;
    for (uint64_t p : opts_.peers) seed.push_back(MemberInfo{p, std::to_string(p), "", 0, true, false});
    opts_.initial_members = seed_membership(std::move(seed));
  }
  if (opts_.election_ticks < 2 || opts_.heartbeat_ticks < 1 ||
      opts_.heartbeat_ticks >= opts_.election_ticks)
    throw std::invalid_argument(
        "raft core: need 1 <= heartbeat_ticks < election_ticks (and election_ticks >= 2)");
  if (opts_.max_inflight < 1) throw std::invalid_argument("raft core: max_inflight must be >= 1");
  if (opts_.proposal_timeout_ticks < 0)
    throw std::invalid_argument("raft core: proposal_timeout_ticks must be >= 0");
  if (opts_.proposal_timeout_ticks == 0) opts_.proposal_timeout_ticks = 3 * opts_.election_ticks;
  // Mix the id in so nodes given the same seed still draw different timeouts.
  rng_state_ = opts_.seed ^ (opts_.id * 0x9E3779B97F4A7C15ull);
  prop_nonce_ = next_rand();
  log_.load(initial.snapshot, initial.entries, initial.hard_state.commit);
  config_ = config_at(log_.last_index());
  term_ = initial.hard_state.term;
  vote_ = initial.hard_state.vote;
  prev_hard_ = initial.hard_state;
  reset(term_);
  vote_ = initial.hard_state.vote;  // reset() keeps the vote when the term is unchanged
  role_ = Role::follower;
  prev_soft_ = SoftState{role_, lead_, term_};
  commit_term_seen_ = log_.term(log_.committed()).value_or(0);
}

uint64_t Core::next_rand() {
  // splitmix64: tiny, well distributed, and identical on every platform
  // (std:: distributions are not), so a seed replays exactly anywhere.
  uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

const Progress* Core::progress(uint64_t peer) const {
  if (role_ != Role::leader) return nullptr;
  auto it = prs_.find(peer);
  return it == prs_.end() ? nullptr : &it->second;
}

void Core::set_role(Role r) {
  if (r != role_)
    PW_DEBUG("raft", "id=%llu role=%s->%s term=%llu", (unsigned long long)opts_.id,
             role_name(role_), role_name(r), (unsigned long long)term_);
  role_ = r;
}

void Core::reset(uint64_t term) {
  if (term != term_) {
    term_ = term;
    vote_ = 0;
  }
  lead_ = 0;
  leader_heard_tick_ = -1;  // whatever we heard was of another term or role
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  draw_election_timeout();
  lead_transferee_ = 0;
  votes_.clear();
  prs_.clear();
  for (const MemberInfo& m : config_.members) {
    if (m.id == opts_.id) continue;
    Progress pr;
    pr.next = log_.last_index() + 1;
    prs_.emplace(m.id, pr);
  }
}

const char* priority_name(ElectionPriority p) {
  switch (p) {
    case ElectionPriority::normal:
      return "normal";
    case ElectionPriority::first:
      return "first";
    case ElectionPriority::defer:
      return "defer";
  }
  return "?";
}

void Core::draw_election_timeout() {
  // Always draw, so the random sequence (and a simulation seed's replay)
  // does not depend on the priority.
  int drawn = opts_.election_ticks + static_cast<int>(next_rand() % uint64_t(opts_.election_ticks));
  switch (priority_) {
    case ElectionPriority::normal:
      randomized_timeout_ = drawn;
      break;
    case ElectionPriority::first:
      randomized_timeout_ = opts_.election_ticks;
      break;
    case ElectionPriority::defer:
      // Two ticks, not one: each node ticks at its own phase, so one tick
      // later may still be only an instant later (a split vote).
      randomized_timeout_ = drawn + 2;
      break;
  }
}

void Core::set_election_priority(ElectionPriority p) {
  if (p == priority_) return;
  priority_ = p;
  if (role_ != Role::leader) draw_election_timeout();
}

void Core::become_follower(uint64_t term, uint64_t lead) {
  reset(term);
  lead_ = lead;
  set_role(Role::follower);
}

void Core::become_pre_candidate() {
  // No term change and no vote: a pre-vote only asks whether we could win.
  votes_.clear();
  prs_.clear();
  lead_ = 0;
  leader_heard_tick_ = -1;
  lead_transferee_ = 0;
  election_elapsed_ = 0;
  draw_election_timeout();
  set_role(Role::pre_candidate);
}

void Core::become_candidate() {
  reset(term_ + 1);
  vote_ = opts_.id;
  set_role(Role::candidate);
}

void Core::become_leader() {
  reset(term_);
  lead_ = opts_.id;
  set_role(Role::leader);
  PW_INFO("raft", "id=%llu became leader term=%llu last_index=%llu", (unsigned long long)opts_.id,
          (unsigned long long)term_, (unsigned long long)log_.last_index());
  // The no-op lets this term commit, which is how entries of older terms
  // (that the new leader cannot count replicas for) get committed.
  uint64_t idx = 0;
  std::string data;
  if (log_.last_index() == 0) {
    // A brand-new cluster: this no-op is the first entry, and it names the
    // cluster. If this term ends before it commits, the next first leader
    // draws another; only the one committed at index 1 counts.
    uint64_t id = 0;
    while (id == 0) id = next_rand();
    data = encode_cluster_id_entry(id);
    PW_INFO("raft", "id=%llu new cluster: proposing cluster_id=%016llx as entry 1",
            (unsigned long long)opts_.id, (unsigned long long)id);
  }
  append_as_leader(EntryType::noop, std::move(data), &idx);
}

std::string encode_cluster_id_entry(uint64_t id) {
  std::string s = "cid1";
  for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>((id >> (8 * i)) & 0xff));
  return s;
}

std::optional<uint64_t> cluster_id_of(const Entry& e) {
  if (e.index != 1 || e.type != EntryType::noop || e.data.size() != 12 ||
      e.data.compare(0, 4, "cid1") != 0)
    return std::nullopt;
  uint64_t id = 0;
  for (size_t i = 4; i < 12; ++i) id = (id << 8) | static_cast<uint8_t>(e.data[i]);
  if (id == 0) return std::nullopt;
  return id;
}

int Core::poll(uint64_t from, bool granted, int* rejected) {
  votes_.emplace(from, granted);  // first answer per voter counts
  int yes = 0, no = 0;
  // Only voters of the configuration in force count (it may have changed
  // during the campaign).
  for (auto& [id, g] : votes_)
    if (config_.is_voter(id)) (g ? yes : no)++;
  if (rejected) *rejected = no;
  return yes;
}

void Core::campaign(bool pre, bool transfer) {
  if (!can_campaign()) return;
  uint64_t vote_term;
  MsgType type;
  if (pre) {
    become_pre_candidate();
    vote_term = term_ + 1;
    type = MsgType::pre_vote;
  } else {
    become_candidate();
    vote_term = term_;
    type = MsgType::vote;
  }
  if (poll(opts_.id, true, nullptr) >= quorum()) {  // single-node cluster
    if (pre) {
      campaign(false, transfer);
    } else {
      become_leader();
      bcast_append();
    }
    return;
  }
  PW_DEBUG("raft", "id=%llu campaign pre=%d term=%llu", (unsigned long long)opts_.id, pre ? 1 : 0,
           (unsigned long long)vote_term);
  for (uint64_t p : config_.voters()) {
    if (p == opts_.id) continue;
    Message m;
    m.type = type;
    m.to = p;
    m.term = vote_term;
    m.index = log_.last_index();
    m.log_term = log_.last_term();
    m.transfer = transfer;
    send(std::move(m));
  }
}

void Core::tick() {
  ++ticks_;
  tick_proposals();
  if (role_ == Role::leader) {
    tick_leader();
  } else {
    tick_election();
  }
  maybe_step_down_removed();
  resolve_proposals();
}

void Core::tick_election() {
  ++election_elapsed_;
  if (election_elapsed_ >= randomized_timeout_) {
    election_elapsed_ = 0;
    if (!can_campaign()) {
      // A learner does not stand, but it must stop believing in a leader it
      // no longer hears: check-quorum's "leader active" would otherwise make
      // it ignore the vote requests a newer configuration may need from it.
      lead_ = 0;
      return;
    }
    campaign(opts_.pre_vote, false);
  }
}

bool Core::valid_message(const Message& m) const {
  auto bad = [&](const char* why) {
    PW_DEBUG("raft", "id=%llu ignoring %s from=%llu: %s", (unsigned long long)opts_.id,
             msg_type_name(m.type), (unsigned long long)m.from, why);
    return false;
  };
  if (static_cast<uint8_t>(m.type) < 1 || static_cast<uint8_t>(m.type) > kMaxMsgType)
    return bad("unknown type");
  if (m.to != opts_.id) return bad("addressed to another node");
  if (m.from == 0 || m.from == opts_.id) return bad("sender is not a peer");
  // A member removed from the configuration is out for good (its id is
  // never reused); ids not known yet may belong to a newer configuration.
  if (sender_removed(m.from)) return bad("sender was removed from the cluster");
  // An id we do not know yet may be a leader of a configuration we have not
  // received (this node lags); only a leader's messages can come from it.
  bool leader_traffic =
      m.type == MsgType::app || m.type == MsgType::heartbeat || m.type == MsgType::snap;
  // A node that is not a voter in the configuration it knows (a newcomer
  // that has not received one yet, or a learner) cannot judge who may
  // campaign: it may already be a voter in a configuration it has not
  // received, whose candidates need its vote — a leader that added it and
  // lost its quorum before reaching it could otherwise never be elected again
  // (sim_consensus seed 516715058790, 5 nodes). Raft lets any server answer a
  // candidate; removed ids are still refused above, and a vote counts only
  // in the candidate's own configuration.
  bool campaign_traffic = m.type == MsgType::vote || m.type == MsgType::pre_vote;
  bool from_unknown_ok = leader_traffic || (campaign_traffic && !config_.is_voter(opts_.id));
  if (!from_unknown_ok && !config_.contains(m.from) &&
      !(config_.epoch > log_.committed() && committed_membership().contains(m.from)))
    return bad("sender is not a member");
  bool termless =
      m.type == MsgType::prop || m.type == MsgType::prop_resp || m.type == MsgType::transfer_leader;
  if (termless != (m.term == 0)) return bad("term does not fit the type");
  if (m.type == MsgType::app) {
    uint64_t expect = m.index + 1, prev_term = m.log_term;
    if (m.log_term > m.term) return bad("log_term above term");
    for (const Entry& e : m.entries) {
      if (e.index != expect++) return bad("entries not contiguous");
      if (e.term < prev_term || e.term > m.term) return bad("entry terms out of order");
      prev_term = e.term;
    }
  }
  if (m.type == MsgType::snap &&
      (m.snapshot.index == 0 || m.snapshot.term == 0 || m.snapshot.term > m.term))
    return bad("bad snapshot metadata");
  if (m.type == MsgType::prop && m.entries.size() != 1) return bad("proposal must carry one entry");
  return true;
}

void Core::step(const Message& m) {
  if (!valid_message(m)) return;
  if (m.term == 0) {  // term-less: proposal forwarding and transfer requests
    switch (m.type) {
      case MsgType::prop:
        handle_leader_prop(m);
        break;
      case MsgType::prop_resp:
        handle_prop_resp(m);
        break;
      case MsgType::transfer_leader:
        if (role_ == Role::leader) handle_transfer(m.target);
        break;
      default:
        break;
    }
    resolve_proposals();
    return;
  }
  if (m.term > term_) {
    if (m.type == MsgType::vote || m.type == MsgType::pre_vote) {
      // Check-quorum's other half: while we hear from a leader, a higher-term
      // candidate is a disruptive (rejoining) node, not a sign of failure.
      // The window is one tick shorter than the election timeout: nodes tick
      // on their own timers, so the first follower to time out (at T) may
      // ask one whose count is still T - 1 although both last heard the
      // leader at the same moment; refused, it drew a new timeout and the
      // election took up to 2T (seen by the fault harness: a standby leader's
      // isolation outlasted the primary's fence point, issue 21). A live
      // leader's heartbeats keep every follower's count near 0.
      const int lease_ticks = std::max(1, opts_.election_ticks - 1);
      bool in_lease = opts_.check_quorum && lead_ != 0 && election_elapsed_ < lease_ticks;
      if (in_lease && !m.transfer) {
        PW_DEBUG("raft", "id=%llu ignoring %s from=%llu term=%llu: leader %llu active",
                 (unsigned long long)opts_.id, msg_type_name(m.type), (unsigned long long)m.from,
                 (unsigned long long)m.term, (unsigned long long)lead_);
        return;
      }
    }
    if (m.type == MsgType::pre_vote) {
      // answering a pre-vote never changes our term
    } else if (m.type == MsgType::pre_vote_resp && !m.reject) {
      // a granted pre-vote carries the future term we asked for
    } else {
      bool from_leader =
          m.type == MsgType::app || m.type == MsgType::heartbeat || m.type == MsgType::snap;
      if (role_ == Role::leader)
        PW_INFO("raft", "id=%llu stepping down term=%llu: saw term=%llu from=%llu",
                (unsigned long long)opts_.id, (unsigned long long)term_, (unsigned long long)m.term,
                (unsigned long long)m.from);
      become_follower(m.term, from_leader ? m.from : 0);
    }
  } else if (m.term < term_) {
    if ((opts_.check_quorum || opts_.pre_vote) &&
        (m.type == MsgType::heartbeat || m.type == MsgType::app)) {
      // A stale leader: it may be cut off from a majority that moved on, or
      // we may have raised our term in a partition. Either way it must learn
      // our term (it cannot from votes, which check-quorum may ignore).
      Message r;
      r.type = MsgType::app_resp;
      r.to = m.from;
      send(std::move(r));
    } else if (m.type == MsgType::pre_vote) {
      // Tell the pre-candidate our higher term so it can catch up.
      Message r;
      r.type = MsgType::pre_vote_resp;
      r.to = m.from;
      r.reject = true;
      send(std::move(r));
    }
    return;
  }

  if (m.type == MsgType::vote || m.type == MsgType::pre_vote) {
    handle_vote_request(m);
  } else {
    switch (role_) {
      case Role::leader:
        step_leader(m);
        break;
      case Role::candidate:
      case Role::pre_candidate:
        step_candidate(m);
        break;
      case Role::follower:
        step_follower(m);
        break;
    }
  }
  resolve_proposals();
}

void Core::handle_vote_request(const Message& m) {
  bool pre = m.type == MsgType::pre_vote;
  // Votes are answered whatever our configuration says of the candidate
  // (dissertation §4.1): a member we see as a learner may hold a newer
  // configuration and the only up-to-date log (Core::can_campaign).
  // Removed members never get here, nor unknown ids unless we are not a
  // voter ourselves (valid_message).
  // We can grant if we already voted for this candidate, or have not voted
  // and know no leader in this term, or it is a pre-vote for a future term.
  bool can_vote = vote_ == m.from || (vote_ == 0 && lead_ == 0) || (pre && m.term > term_);
  Message r;
  r.type = pre ? MsgType::pre_vote_resp : MsgType::vote_resp;
  r.to = m.from;
  if (can_vote && log_.is_up_to_date(m.index, m.log_term)) {
    r.term = m.term;
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    r.term = term_;
    r.reject = true;
  }
  send(std::move(r));
}

void Core::step_follower(const Message& m) {
  switch (m.type) {
    case MsgType::app:
      election_elapsed_ = 0;
      lead_ = m.from;
      note_leader_contact();
      handle_append(m);
      break;
    case MsgType::heartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      note_leader_contact();
      handle_heartbeat(m);
      break;
    case MsgType::snap:
      election_elapsed_ = 0;
      lead_ = m.from;
      note_leader_contact();
      handle_snapshot(m);
      break;
    case MsgType::timeout_now:
      if (!can_campaign()) break;
      PW_INFO("raft", "id=%llu leadership transfer from=%llu: campaigning term=%llu",
              (unsigned long long)opts_.id, (unsigned long long)m.from,
              (unsigned long long)term_ + 1);
      campaign(false, true);
      break;
    default:
      break;  // stale answers to a role we no longer have
  }
}

void Core::step_candidate(const Message& m) {
  switch (m.type) {
    case MsgType::app:
      become_follower(m.term, m.from);
      note_leader_contact();
      handle_append(m);
      break;
    case MsgType::heartbeat:
      become_follower(m.term, m.from);
      note_leader_contact();
      handle_heartbeat(m);
      break;
    case MsgType::snap:
      become_follower(m.term, m.from);
      note_leader_contact();
      handle_snapshot(m);
      break;
    case MsgType::vote_resp:
    case MsgType::pre_vote_resp: {
      bool pre = role_ == Role::pre_candidate;
      if (pre != (m.type == MsgType::pre_vote_resp)) break;  // answer to an earlier campaign
      if (pre && !m.reject && m.term != term_ + 1) break;    // grant for another term
      int rejected = 0;
      int granted = poll(m.from, !m.reject, &rejected);
      if (granted >= quorum()) {
        if (pre) {
          campaign(false, false);
        } else {
          become_leader();
          bcast_append();
        }
      } else if (rejected >= quorum()) {
        become_follower(term_, 0);
      }
      break;
    }
    default:
      break;
  }
}

void Core::handle_append(const Message& m) {
  Message r;
  r.type = MsgType::app_resp;
  r.to = m.from;
  if (m.index < log_.committed()) {
    // Everything up to our commit matches the leader already (an old or
    // duplicated app): tell it how far.
    r.index = log_.committed();
    send(std::move(r));
    return;
  }
  if (auto last = log_.maybe_append(m.index, m.log_term, m.commit, m.entries)) {
    r.index = *last;
    refresh_config(m.index + 1);
  } else {
    // Fast back-off: point the leader at our last index whose term is not
    // above the one it tried, so one round trip skips a whole divergent term.
    uint64_t hint = std::min(m.index, log_.last_index());
    auto [hi, ht] = log_.find_conflict_by_term(hint, m.log_term);
    r.index = m.index;
    r.reject = true;
    r.reject_hint = hi;
    r.log_term = ht;
  }
  send(std::move(r));
}

void Core::handle_heartbeat(const Message& m) {
  // The leader sends min(our match, its commit), so this never commits an
  // entry we have not acknowledged; clamp anyway should our disk have lost a tail.
  log_.commit_to(std::min(m.commit, log_.last_index()));
  Message r;
  r.type = MsgType::heartbeat_resp;
  r.to = m.from;
  if (m.commit > log_.last_index()) {
    // The leader believes we hold entries we do not have: our state dir was
    // wiped or replaced since we acknowledged them. Say so, with our last
    // index; otherwise an idle leader keeps sending heartbeats only and
    // never learns that we need the log again.
    r.reject = true;
    r.index = log_.last_index();
  }
  send(std::move(r));
}

void Core::handle_snapshot(const Message& m) {
  const Snapshot& s = m.snapshot;
  Message r;
  r.type = MsgType::app_resp;
  r.to = m.from;
  if (s.index <= log_.committed()) {
    r.index = log_.committed();
  } else if (log_.match_term(s.index, s.term)) {
    // We already hold the snapshot's last entry: just commit up to it.
    log_.commit_to(s.index);
    r.index = log_.committed();
  } else {
    PW_INFO("raft", "id=%llu installing snapshot index=%llu term=%llu from=%llu",
            (unsigned long long)opts_.id, (unsigned long long)s.index, (unsigned long long)s.term,
            (unsigned long long)m.from);
    log_.restore(s);
    refresh_config(0);
    r.index = log_.last_index();
  }
  send(std::move(r));
}

bool Core::has_ready() const {
  if (SoftState{role_, lead_, term_} != prev_soft_) return true;
  if (HardState{term_, vote_, log_.committed()} != prev_hard_) return true;
  return log_.has_pending_snapshot() || log_.has_unstable() || !msgs_.empty() ||
         log_.has_next_committed() || !fates_.empty();
}

Ready Core::ready() {
  Ready rd;
  SoftState ss{role_, lead_, term_};
  if (ss != prev_soft_) {
    rd.soft_state = ss;
    prev_soft_ = ss;
  }
  HardState hs{term_, vote_, log_.committed()};
  if (hs != prev_hard_) {
    rd.hard_state = hs;
    prev_hard_ = hs;
  }
  if (log_.has_pending_snapshot()) rd.snapshot = log_.snapshot();
  rd.entries = log_.unstable_entries();
  rd.messages = std::move(msgs_);
  msgs_.clear();
  rd.committed_entries = log_.next_committed();
  rd.proposals = std::move(fates_);
  fates_.clear();
  return rd;
}

void Core::advance(const Ready& rd) {
  if (!rd.snapshot.empty()) log_.snapshot_persisted();
  if (!rd.entries.empty()) log_.stable_to(rd.entries.back().index, rd.entries.back().term);
  if (!rd.committed_entries.empty()) log_.applied_to(rd.committed_entries.back().index);
  // Our own entries just became durable, which may complete a quorum.
  if (role_ == Role::leader && maybe_commit()) bcast_append();
  maybe_step_down_removed();
  resolve_proposals();
}

const Snapshot& Core::compact(uint64_t index, std::string data) {
  Membership at = config_at(index);
  std::string cfg = at.epoch == 0 && at == base_config() && log_.snapshot().config.empty()
                        ? std::string()  // never changed: stay readable by older versions
                        : encode_membership(at);
  log_.compact(index, std::move(data), std::move(cfg));
  PW_DEBUG("raft", "id=%llu compacted index=%llu", (unsigned long long)opts_.id,
           (unsigned long long)index);
  return log_.snapshot();
}

}  // namespace pw::consensus
