// consensus/core_membership.cc — the configuration in force (membership.h):
// found again whenever the log changes (a follower's suffix may be replaced,
// taking a configuration with it), and what a change means for this node's
// role and the leader's progress table.
#include "base/log.h"
#include "consensus/core.h"

namespace pw::consensus {

Membership Core::base_config() const {
  const std::string& enc = log_.snapshot().config;
  if (!enc.empty()) {
    std::string err;
    if (auto c = decode_membership(enc, &err)) return *c;
    // The snapshot came through a checksummed file or a decoded message;
    // a record we cannot read is a bug, and the seed is the safest fallback.
    PW_ERROR("raft", "id=%llu snapshot index=%llu: %s; using the seed membership",
             (unsigned long long)opts_.id, (unsigned long long)log_.snapshot().index, err.c_str());
  }
  return opts_.initial_members;
}

Membership Core::config_at(uint64_t index) const {
  uint64_t hi = std::min(index, log_.last_index());
  for (uint64_t i = hi; i >= log_.first_index() && i > 0; --i) {
    const Entry* e = log_.entry(i);
    if (!e || e->type != EntryType::config) continue;
    if (auto c = decode_membership(e->data, nullptr)) {
      c->epoch = e->index;
      return *c;
    }
  }
  return base_config();
}

void Core::refresh_config(uint64_t from_index) {
  Membership c;
  if (from_index == 0 || config_.epoch >= from_index) {
    c = config_at(log_.last_index());  // what set config_ may have been replaced
  } else {
    c = config_;
    for (uint64_t i = from_index; i <= log_.last_index(); ++i) {
      const Entry* e = log_.entry(i);
      if (!e || e->type != EntryType::config) continue;
      if (auto d = decode_membership(e->data, nullptr)) {
        c = std::move(*d);
        c.epoch = e->index;
      }
    }
  }
  if (!(c == config_)) set_config(std::move(c));
}

void Core::set_config(Membership c) {
  PW_INFO("raft", "id=%llu term=%llu membership epoch=%llu: %s (was epoch=%llu: %s)",
          (unsigned long long)opts_.id, (unsigned long long)term_, (unsigned long long)c.epoch,
          c.describe().c_str(), (unsigned long long)config_.epoch, config_.describe().c_str());
  config_ = std::move(c);
  if (role_ == Role::leader) {
    for (auto it = prs_.begin(); it != prs_.end();) {
      if (!config_.contains(it->first)) {
        if (it->first == lead_transferee_) abort_transfer("target removed from the membership");
        it = prs_.erase(it);
      } else {
        ++it;
      }
    }
    for (const MemberInfo& m : config_.members) {
      if (m.id == opts_.id || prs_.count(m.id)) continue;
      Progress pr;
      pr.next = log_.last_index() + 1;
      pr.last_answer_tick = -1;
      prs_.emplace(m.id, pr);
      maybe_send_append(m.id, true);
    }
  } else if ((role_ == Role::candidate || role_ == Role::pre_candidate) && !can_campaign()) {
    become_follower(term_, 0);
  }
}

bool Core::sender_removed(uint64_t id) const {
  if (!config_.removed(id)) return false;
  // Only a committed removal is final: an uncommitted one may be replaced
  // by the removed node itself, as leader, whose messages we then need.
  if (config_.epoch <= log_.committed()) return true;
  return committed_membership().removed(id);
}

bool Core::can_campaign() const {
  if (is_voter()) return true;
  // Learners and removed members never stand. But a voter whose latest,
  // still uncommitted configuration demotes or removes it may hold the
  // only up-to-date log: the others cannot win without its vote, which it
  // refuses them. It stands, counting votes in that latest configuration
  // (not its own), and if it wins it leads until the change commits, then
  // steps down (maybe_step_down_removed), as the dissertation's removed leader.
  return config_.epoch > log_.committed() && committed_membership().is_voter(opts_.id);
}

void Core::maybe_step_down_removed() {
  // Dissertation §4.2.2: a leader that is not in the new configuration keeps
  // leading (replicating, but not counting itself) until that configuration
  // commits, then steps down; the others elect a leader among themselves.
  if (role_ != Role::leader || is_voter() || config_.epoch > log_.committed()) return;
  PW_INFO("raft", "id=%llu term=%llu stepping down: no longer a voter (membership epoch=%llu committed)",
          (unsigned long long)opts_.id, (unsigned long long)term_, (unsigned long long)config_.epoch);
  become_follower(term_, 0);
}

}  // namespace pw::consensus
