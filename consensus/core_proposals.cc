// consensus/core_proposals.cc — proposals and their fates.
//
// Every proposal ends up with an exact, never-wrong outcome where possible:
// an entry placed at (index, term) is committed iff the committed log holds
// term `term` at `index` (log matching makes (index, term) unique). So a
// proposal is resolved when the commit index reaches its index, by comparing
// terms. It is also certainly dropped as soon as the committed log holds a
// newer term at a lower index: terms never decrease along a log, so no
// committed log can contain (index, term) any more. Three cases stay
// uncertain and are reported as `unknown`: a forwarded proposal whose leader
// never answered, one whose index was skipped by an installed snapshot, and
// one still unresolved after proposal_timeout_ticks. The last is etcd's
// request timeout: a leader cut off from its peers steps down and then
// learns of no commit until the partition heals, so without it a proposal
// appended there (and whoever waits for it: an operator's request, a
// controller's "in flight" flag) would hang for the whole partition. Its
// caller must treat it as "may still commit": the entry stays in the log and
// can be committed by a later leader.
#include "base/log.h"
#include "consensus/core.h"

namespace pw::consensus {

const char* outcome_name(ProposalFate::Outcome o) {
  switch (o) {
    case ProposalFate::Outcome::committed:
      return "committed";
    case ProposalFate::Outcome::dropped:
      return "dropped";
    case ProposalFate::Outcome::unknown:
      return "unknown";
  }
  return "?";
}

void Core::drop_proposal(uint64_t id, uint64_t index, ProposalFate::Outcome outcome,
                         std::string reason) {
  ProposalFate f;
  f.id = id;
  f.outcome = outcome;
  f.index = index;
  f.reason = std::move(reason);
  fates_.push_back(std::move(f));
}

uint64_t Core::propose(std::string data) { return propose_entry(EntryType::normal, std::move(data)); }

uint64_t Core::propose_config(const Membership& to) {
  Membership c = to;
  c.epoch = 0;
  if (role_ == Role::leader) {
    std::string why = config_refusal(c);
    if (!why.empty()) {
      uint64_t id = next_proposal_id_++;
      drop_proposal(id, 0, ProposalFate::Outcome::dropped, why);
      return id;
    }
  }
  return propose_entry(EntryType::config, encode_membership(c));
}

std::string Core::config_refusal(const Membership& to) const {
  if (config_.epoch > log_.committed())
    return "membership change at index " + std::to_string(config_.epoch) +
           " is not committed yet: one change at a time";
  if (log_.term(log_.committed()).value_or(0) != term_)
    return "this leader has not committed an entry of its term yet (retry in a moment)";
  return check_change(config_, to);
}

uint64_t Core::propose_entry(EntryType type, std::string data) {
  uint64_t id = next_proposal_id_++;
  if (data.size() > opts_.max_proposal_bytes) {
    drop_proposal(id, 0, ProposalFate::Outcome::dropped,
                  "proposal too large: " + std::to_string(data.size()) + " bytes > " +
                      std::to_string(opts_.max_proposal_bytes));
    return id;
  }
  if (role_ == Role::leader) {
    if (lead_transferee_ != 0) {
      drop_proposal(id, 0, ProposalFate::Outcome::dropped, "leadership transfer in progress");
      return id;
    }
    uint64_t idx = 0;
    append_as_leader(type, std::move(data), &idx);
    awaiting_commit_.emplace(idx, Awaiting{id, term_, proposal_deadline()});
    bcast_append();
    return id;
  }
  if (lead_ == 0) {
    drop_proposal(id, 0, ProposalFate::Outcome::dropped, "no leader known");
    return id;
  }
  Message m;
  m.type = MsgType::prop;
  m.to = lead_;
  m.proposal_id = id + prop_nonce_;
  Entry e;
  e.type = type;
  e.data = std::move(data);
  m.entries.push_back(std::move(e));
  send(std::move(m));
  awaiting_ack_[id] = AwaitingAck{ticks_ + 2 * opts_.election_ticks, proposal_deadline()};
  return id;
}

int64_t Core::proposal_deadline() const { return ticks_ + opts_.proposal_timeout_ticks; }

void Core::handle_leader_prop(const Message& m) {
  Message r;
  r.type = MsgType::prop_resp;
  r.to = m.from;
  r.proposal_id = m.proposal_id;
  std::pair<uint64_t, uint64_t> key{m.from, m.proposal_id};
  if (auto seen = seen_props_.find(key); seen != seen_props_.end()) {
    // A duplicated frame: repeat the first decision, whatever our role now.
    // Deciding afresh could contradict it (refuse what we appended, or
    // append what we refused), and the forwarder may see either answer first.
    r.index = seen->second.first;
    r.log_term = seen->second.second;
    if (r.index == 0) {
      r.reject = true;
      r.reason = "duplicate of a proposal refused earlier";
    }
    send(std::move(r));
    return;
  }
  if (role_ != Role::leader) {
    r.reject = true;
    r.reason = "node " + std::to_string(opts_.id) + " is not the leader";
  } else if (lead_transferee_ != 0) {
    r.reject = true;
    r.reason = "leadership transfer in progress";
  } else if (m.entries[0].data.size() > opts_.max_proposal_bytes) {
    r.reject = true;
    r.reason = "proposal too large";
  } else if (m.entries[0].type == EntryType::noop) {
    r.reject = true;
    r.reason = "a no-op cannot be proposed";
  } else if (std::string why = prop_config_refusal(m.entries[0]); !why.empty()) {
    r.reject = true;
    r.reason = why;
  } else {
    uint64_t idx = 0;
    append_as_leader(m.entries[0].type, m.entries[0].data, &idx);
    r.index = idx;
    r.log_term = term_;
    bcast_append();
  }
  seen_props_[key] = {r.index, r.log_term};
  seen_order_.push_back(key);
  if (seen_order_.size() > kSeenProposals) {
    seen_props_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  send(std::move(r));
}

std::string Core::prop_config_refusal(const Entry& e) const {
  if (e.type != EntryType::config) return "";
  std::string err;
  auto c = decode_membership(e.data, &err);
  if (!c) return err;
  return config_refusal(*c);
}

void Core::handle_prop_resp(const Message& m) {
  uint64_t id = m.proposal_id - prop_nonce_;
  auto it = awaiting_ack_.find(id);
  if (it == awaiting_ack_.end()) return;  // duplicate, or already timed out as unknown
  const int64_t deadline = it->second.deadline;
  awaiting_ack_.erase(it);
  if (m.reject) {
    drop_proposal(id, 0, ProposalFate::Outcome::dropped, "leader refused: " + m.reason);
    return;
  }
  uint64_t c = log_.committed();
  uint64_t ct = log_.term(c).value_or(0);
  if (m.index > c && m.log_term < ct) {
    drop_proposal(id, m.index, ProposalFate::Outcome::dropped,
                  "superseded: index " + std::to_string(c) + " committed in newer term " +
                      std::to_string(ct));
    return;
  }
  awaiting_commit_.emplace(m.index, Awaiting{id, m.log_term, deadline});
  // Answers are accepted whatever our term: "(index, term) holds it" stays
  // true forever, and resolution compares terms, so a late answer is fine.
}

void Core::tick_proposals() {
  for (auto it = awaiting_ack_.begin(); it != awaiting_ack_.end();) {
    if (ticks_ >= it->second.ack_deadline || ticks_ >= it->second.deadline) {
      drop_proposal(it->first, 0, ProposalFate::Outcome::unknown,
                    "no answer from the leader within two election timeouts (it may still commit)");
      it = awaiting_ack_.erase(it);
    } else {
      ++it;
    }
  }
  // Few proposals are pending at a time (the agent's commands): a scan per
  // tick is cheap.
  for (auto it = awaiting_commit_.begin(); it != awaiting_commit_.end();) {
    if (ticks_ >= it->second.deadline) {
      drop_proposal(it->second.id, it->first, ProposalFate::Outcome::unknown,
                    "not committed within " + std::to_string(opts_.proposal_timeout_ticks) +
                        " ticks (this node may be cut off from a quorum; it may still commit)");
      it = awaiting_commit_.erase(it);
    } else {
      ++it;
    }
  }
}

void Core::resolve_proposals() {
  if (awaiting_commit_.empty()) return;
  uint64_t c = log_.committed();
  while (!awaiting_commit_.empty() && awaiting_commit_.begin()->first <= c) {
    auto it = awaiting_commit_.begin();
    uint64_t idx = it->first;
    Awaiting a = it->second;
    awaiting_commit_.erase(it);
    auto t = log_.term(idx);
    if (t && *t == a.term) {
      drop_proposal(a.id, idx, ProposalFate::Outcome::committed, "");
    } else if (t) {
      drop_proposal(a.id, idx, ProposalFate::Outcome::dropped,
                    "overwritten: index " + std::to_string(idx) + " committed with term " +
                        std::to_string(*t) + ", proposal was in term " + std::to_string(a.term));
    } else if (log_.snapshot().index >= idx && log_.snapshot().term == a.term) {
      // The committed snapshot ends in an entry of the same leader's term, and
      // that leader's log held our entry below it: log matching says committed.
      drop_proposal(a.id, idx, ProposalFate::Outcome::committed, "");
    } else {
      drop_proposal(a.id, idx, ProposalFate::Outcome::unknown,
                    "a snapshot replaced the log before the outcome could be seen");
    }
  }
  // Supersession by a newer committed term (see the file comment).
  uint64_t ct = log_.term(c).value_or(0);
  if (ct <= commit_term_seen_) return;
  commit_term_seen_ = ct;
  for (auto it = awaiting_commit_.begin(); it != awaiting_commit_.end();) {
    if (it->second.term < ct) {
      drop_proposal(it->second.id, it->first, ProposalFate::Outcome::dropped,
                    "superseded: index " + std::to_string(c) + " committed in newer term " +
                        std::to_string(ct));
      it = awaiting_commit_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace pw::consensus
