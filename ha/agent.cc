// ha/agent.cc — the agent's loop (see agent.h): ticks and wake-ups, the
// observers of the applied log, status gossip, and the dispatch of one
// reconcile turn to the controller of this node's role.
#include "ha/agent.h"

#include <algorithm>

#include "base/log.h"
#include "ha/agent_diagnostics.h"
#include "ha/route_builder.h"

namespace pw::node {

using Kind = pgctl::DataDirInfo::Kind;

Agent::Agent(const conf::Config& cfg, AgentWorld& world, ClusterStateMachine& sm, pgctl::Postgres& pg,
             FencerPort& fencer)
    : ctx_(cfg, world, sm, pg, fencer),
      decider_(ctx_),
      renewer_(ctx_),
      bootstrap_(ctx_),
      primary_(ctx_),
      sync_(ctx_),
      switchover_(ctx_, decider_),
      standby_(ctx_),
      membership_(ctx_, decider_),
      placement_(ctx_),
      handoff_(ctx_, renewer_, membership_),
      restart_(ctx_) {
  started_at_ = world.mono_ms();
}

void Agent::attach_observer() {
  ctx_.sm.set_observer(&Agent::on_apply, this);
  ctx_.sm.set_restore_observer(&Agent::on_restore, this);
}

void Agent::set_raft(consensus::RaftNode* raft) {
  ctx_.raft = raft;
  ctx_.refresh_roster();
  raft->set_app_handler([this](uint64_t from, const std::string& d) { on_status_message(from, d); });
  raft->set_leader_change_handler([this] {
    renewer_.leader_changed();
    ctx_.kick();
  });
}

void Agent::start() {
  ctx_.pg().set_exit_handler([this](int status) {
    PW_WARN("agent", "postgres exited status=%d epoch=%llu", status, static_cast<unsigned long long>(state().epoch));
    // It died read-write: its WAL may run past a successor's fork point, so
    // it is rewound before it follows anyone (I6), even if it is restarted
    // as a standby first (no primary yet) and the directory then looks like
    // a standby's.
    if (ctx_.local.made_primary()) ctx_.local.set_needs_rewind(true);
    ctx_.local.mark_stopped();
    ctx_.fencer.disarm();
    primary_.postgres_died();
    ctx_.kick();
  });
  ctx_.local.refresh();
  tick();
}

void Agent::kick_now() {
  // Our PostgreSQL started or stopped taking writes: the others' proxies
  // hold or release new clients on it, so tell them before anything else
  // (a new primary's "serving" then always precedes its `ready`).
  if (ctx_.serving() != serving_told_) gossip();
  uint64_t final_lsn = ctx_.members.own().final_lsn;
  primary_.hurry_fence();
  placement_.run();
  decider_.run();
  tell_leader_news();
  // A lock that just became ours is renewed now, not at the next tick: the
  // promotion waits for the lease (up to a loop interval saved per failover
  // and switchover). The renewer keeps its own period.
  renewer_.run();
  publish_route();
  reconcile();
  handoff_.run(handoff_blocker());
  // A switchover's final LSN is news the target is waiting for.
  if (ctx_.members.own().final_lsn != final_lsn) gossip();
  watch_switchover_replay();
}

// A switchover waits for a standby to replay the old primary's shutdown
// checkpoint, then for that fact to reach the old primary. Left to the
// loop it takes a probe in one tick and the gossip of the next (measured:
// 0.3-0.55 s of the write gap); here a standby probes at once when the
// final LSN is announced, again every 20 ms until it has replayed past it,
// and gossips the moment it has.
void Agent::watch_switchover_replay() {
  const ClusterState& s = state();
  if (!s.switchover || s.primary == ctx_.self() || s.switchover->first == ctx_.self()) return;
  const MemberStatus* from = ctx_.members.fresh(s.switchover->first, ctx_.now());
  if (!from || from->final_lsn == 0 || replay_told_ == from->final_lsn) return;
  if (!ctx_.local.status().running || !ctx_.local.status().in_recovery) return;
  const uint64_t final_lsn = from->final_lsn;
  bool started = ctx_.local.probe(ctx_.now(), [this] { ctx_.kick(); }, [this, final_lsn] {
    if (ctx_.local.status().replay_lsn > final_lsn) {
      replay_told_ = final_lsn;
      PW_INFO("agent", "switchover: replayed past the final LSN %llX of %s, telling it",
              static_cast<unsigned long long>(final_lsn),
              state().switchover ? state().switchover->first.c_str() : "?");
      gossip();
    } else {
      ctx_.world.wake(20);
    }
  });
  if (!started) ctx_.world.wake(20);
}

void Agent::tick() {
  ctx_.refresh_roster();
  ctx_.local.probe(ctx_.now(), [this] { ctx_.kick(); });
  if (!ctx_.activity.busy() && !ctx_.local.status().running) ctx_.local.refresh();
  fencer_health_ = ctx_.fencer.supervise();
  if (bootstrap_.running() && ctx_.local.made_primary() && !ctx_.lease.hold.holds(state().epoch, ctx_.now())) {
    // Bootstrap runs PostgreSQL read-write before any lease exists. If this
    // agent freezes, the decider gives the claim away after it has been
    // silent for a lease; the fencer stops the orphan before that (found by
    // sim_ha: a paused claimant's server stayed writable beside the new one).
    ctx_.fencer.arm(ctx_.pg().postmaster_pid(), ctx_.now() + ctx_.cfg.ha_lease_ms - ctx_.cfg.ha_loop_interval_ms);
  }
  gossip();
  decider_.run();
  renewer_.run();
  publish_route();
  reconcile();
  handoff_.run(handoff_blocker());
  membership_.run();
  placement_.run();
  if (ctx_.fresh_since() != 0) ctx_.quorum_seen_ms = ctx_.now();
  Diagnostics d = local_diagnostics(ctx_, fencer_health_, started_at_);
  if (ctx_.cfg.ha_synchronous_mode) {
    if (std::string why = sync_.degraded(state().epoch); !why.empty())
      d.push_back({"sync_degraded", "synchronous mode on " + ctx_.self() + ": " + why,
                   ctx_.cfg.ha_synchronous_mode_strict
                       ? "start or repair a standby so that it streams from the primary; to let the primary "
                         "run alone instead, turn [ha] synchronous_mode_strict off"
                       : "start or repair a standby so that it streams from the primary; to block writes "
                         "instead of acknowledging them on the primary alone, set [ha] "
                         "synchronous_mode_strict = on"});
  }
  Diagnostics from_decider = decider_.diagnostics();
  if (ctx_.raft && !ctx_.raft->is_leader()) {
    // Followers show what the decider (the raft leader) reports.
    const MemberStatus* l = ctx_.members.fresh(ctx_.member_name(ctx_.raft->leader_id()), ctx_.now());
    from_decider = l ? l->decider_diags : Diagnostics{};
  }
  for (const auto& x : from_decider) d.push_back(x);
  name_missing_primary(d, unwritable_since_ ? ctx_.now() - unwritable_since_ : 0, ctx_.cfg.ha_loop_interval_ms,
                       unwritable_reason_);
  std::string key;
  for (const auto& x : d) key += x.code + "|" + x.message + "\n";
  if (key != diag_key_) {
    for (const auto& x : d)
      if (diag_key_.find(x.code + "|" + x.message) == std::string::npos)
        PW_WARN("diag", "%s: %s — %s", x.code.c_str(), x.message.c_str(), x.action.c_str());
    if (d.empty() && !diag_key_.empty()) PW_INFO("diag", "all clear");
    diag_key_ = key;
  }
  diags_ = std::move(d);
}

// ---- observers of the applied log -------------------------------------

void Agent::on_apply(void* ctx, uint64_t, const Command& c, const ApplyEffect& e) {
  static_cast<Agent*>(ctx)->applied(c, e);
}

void Agent::applied(const Command& c, const ApplyEffect& e) {
  const ClusterState& s = state();
  int64_t now = ctx_.now();
  if (!e.applied) {
    PW_DEBUG("agent", "rejected %s node=%s: %s", cmd_name(c.type), c.node.c_str(), e.why_rejected.c_str());
    return;
  }
  switch (c.type) {
    case CmdType::renew:
      ctx_.lease.watch.renewal_applied(c.epoch, now);
      if (c.node == ctx_.self()) {
        const bool held = ctx_.lease.hold.holds(c.epoch, now);
        ctx_.lease.hold.applied(c.epoch, c.seq);
        // The first renewal of a lock that just became ours: promotion
        // waits for it, so act now rather than at the next tick (measured:
        // up to a loop interval of the switchover gap).
        if (!held && ctx_.lease.hold.holds(c.epoch, now)) ctx_.kick();
        PW_DEBUG("agent", "renewal applied epoch=%llu seq=%llu lease until %lld (now %lld)",
                 static_cast<unsigned long long>(c.epoch), static_cast<unsigned long long>(c.seq),
                 static_cast<long long>(ctx_.lease.hold.until_ms()), static_cast<long long>(now));
        // Also while PostgreSQL starts as primary or promotes: it may take
        // writes before we hear back (PrimaryController::arm_while_starting).
        const pid_t pm = ctx_.pg().postmaster_pid();
        if ((ctx_.local.made_primary() || ctx_.local.becoming_primary()) && pm != 0 &&
            ctx_.lease.hold.holds(c.epoch, now))
          ctx_.fencer.arm(pm, ctx_.lease.hold.until_ms());
      }
      return;  // the hot path: nothing else changes
    case CmdType::bootstrap_done:
    case CmdType::adopt:
      // Our bootstrap (if any) is now the cluster or lost for good.
      if (c.node == ctx_.self()) ctx_.world.remove_marker();
      break;
    case CmdType::reload:
      restart_.reload_applied(c);
      break;
    case CmdType::release:
      ctx_.release_applied_ms = now;
      break;
    case CmdType::claim:
      ctx_.lease.claim_applied_at = now;
      PW_INFO("agent", "bootstrap claimed by %s", c.node.c_str());
      break;
    default:
      break;
  }
  if (e.primary_changed) {
    ctx_.lease.watch.renewal_applied(s.epoch, now);
    if (s.primary != ctx_.self()) ctx_.lease.hold.reset();
    PW_INFO("agent", "lock changed epoch=%llu primary=%s reason=\"%s\"", static_cast<unsigned long long>(s.epoch),
            s.primary.empty() ? "-" : s.primary.c_str(), s.history.empty() ? "" : s.history.back().reason.c_str());
    // Cut the old route at once and tell the others (I3 acknowledgement).
    publish_route();
    gossip();
  } else if (c.type == CmdType::switchover) {
    // Our proxy holds new clients from now on: say so at once, the old
    // primary waits for every member's word before it shuts down.
    switchover_.applied_at(ctx_.sm.last_index());
    publish_route();
    gossip();
  } else if (c.type == CmdType::ready) {
    placement_.epoch_ready(now);
    if (ctx_.raft && ctx_.raft->is_leader()) gossip();  // the grant for the ready epoch: clients may go there now
  }
  ctx_.kick();
}

void Agent::on_restore(void* ctx) {
  auto* a = static_cast<Agent*>(ctx);
  int64_t now = a->ctx_.now();
  // A restored snapshot counts as a renewal seen now: always conservative.
  a->ctx_.lease.watch.renewal_applied(a->state().epoch, now);
  a->ctx_.lease.claim_applied_at = now;
  a->ctx_.kick();
}

// ---- status gossip --------------------------------------------------------

void Agent::on_status_message(uint64_t from, const std::string& data) {
  bool acked_changed = false;
  const std::string name = ctx_.member_name(from);
  int64_t now = ctx_.now();
  if (!ctx_.members.received(name, data, now, &acked_changed)) return;
  if (const auto& so = state().switchover) {
    // Switchover news travels by status: the old primary's final LSN (the
    // standbys start watching their replay) and the target's replay of it
    // (the old primary hands over). Act on it now, not at the next tick.
    if (name == so->first || (so->first == ctx_.self() && ctx_.members.own().final_lsn != 0)) ctx_.kick();
  }
  if (ctx_.raft && from == ctx_.raft->leader_id()) {
    // The leader's route grant (route_builder.h): the route may change.
    const MemberStatus* st = ctx_.members.fresh(name, now);
    RouteGrant g{name, st ? st->grant_epoch : 0, st ? now + st->grant_ms : 0};
    // A grant is safe on its own until it expires, whoever sent it (each is
    // bounded by the lease wait of its sender, and any later decider waits
    // at least as long): an earlier grant for the same epoch, maybe from the
    // previous leader, is kept rather than cut short by a new leader's first
    // status, which may carry none yet (issue 21, item 8).
    const RouteGrant& old = ctx_.grant;
    const uint64_t E = state().epoch;
    if (old.epoch == E && old.until_ms > now && !(g.epoch == E && g.until_ms >= old.until_ms)) g = old;
    bool changed = g.epoch != old.epoch || (old.until_ms <= now && g.until_ms > now);
    ctx_.grant = g;
    if (changed) ctx_.kick();
  }
  if (acked_changed) ctx_.kick();
}

void Agent::gossip() {
  MemberStatus& own = ctx_.members.own();
  LocalPg& local = ctx_.local;
  const pgctl::DataDirInfo& data = local.data();
  const pgctl::Status& st = local.status();
  own.data = data.kind == Kind::empty ? DataKind::empty : data.kind == Kind::cluster ? DataKind::cluster : DataKind::unusable;
  own.data_reason = data.reason;
  own.system_id = data.system_id;
  own.pg_running = st.running;
  own.in_recovery = st.running && st.in_recovery;
  own.streaming = st.running && st.wal_receiver_streaming;
  own.upstream = st.upstream_host;
  own.timeline = local.timeline();
  own.probe_age_ms = local.probed_at() < 0 ? -1 : ctx_.now() - local.probed_at();
  own.pending_restart_known = true;
  if (st.running) own.pending_restart = st.pending_restart;
  else own.pending_restart.clear();
  if (st.running) {
    own.lsn = st.in_recovery ? std::max(st.receive_lsn, st.replay_lsn) : st.current_lsn;
    // A probe of a server still starting up may report no position yet:
    // fall back to what pg_control says rather than claiming LSN 0.
    if (own.lsn == 0) own.lsn = data.checkpoint_lsn;
    own.replay_lsn = st.replay_lsn;
  } else {
    own.lsn = data.checkpoint_lsn;
    own.replay_lsn = 0;
  }
  own.acked_epoch = route_epoch_;
  own.route_index = route_index_;
  own.agent_state = ctx_.activity.text();
  own.last_error = ctx_.activity.last_error();
  own.decider_diags = (ctx_.raft && ctx_.raft->is_leader()) ? decider_.diagnostics() : Diagnostics{};
  own.serving_known = true;
  own.serving = serving_told_ = ctx_.serving();
  own.grant_ms = leader_grant_ms(ctx_);
  own.grant_epoch = own.grant_ms > 0 ? state().epoch : 0;
  if (ctx_.raft && ctx_.raft->is_leader()) {
    told_term_ = ctx_.raft->term();
    told_grant_ = own.grant_ms > 0;
  }
  if (ctx_.raft) ctx_.raft->broadcast_app(ctx_.members.next_own_message(ctx_.now()));
}

// A new raft leader sends its status at once when it wins (followers learn
// who decides) and again when a quorum first answered it (its first route
// grant), instead of at the next tick: followers' routes wait for that
// grant once the previous leader's has expired (issue 21, item 8).
void Agent::tell_leader_news() {
  if (!ctx_.raft || !ctx_.raft->is_leader()) return;
  bool grant = leader_grant_ms(ctx_) > 0;
  if (told_term_ != ctx_.raft->term() || (grant && !told_grant_)) gossip();
}

void Agent::publish_route() {
  proxy::Route r = build_route(ctx_);
  // For name_missing_primary: since when clients have had no writable
  // primary through this node, and why.
  if (r.has_primary && !r.hold_new) unwritable_since_ = 0;
  else if (unwritable_since_ == 0) unwritable_since_ = ctx_.now();
  unwritable_reason_ = r.unavailable_reason;
  ctx_.world.publish_route(r);
  route_epoch_ = state().epoch;
  // The state machine's index: inside apply() it is already the entry's
  // (the raft node's applied index moves after the observers ran).
  route_index_ = ctx_.sm.last_index();
}

std::string Agent::debug_line() const {
  int64_t now = ctx_.now();
  return std::string("busy=") + (ctx_.activity.busy() ? "1" : "0") +
         " backoff=" + std::to_string(ctx_.activity.backing_off(now) ? 1 : 0) +
         " prepared=" + std::to_string(ctx_.prepared_epoch) + " release=" + std::to_string(ctx_.release_proposed) +
         " grant=" + std::to_string(ctx_.grant.epoch) + "@" + ctx_.grant.from +
         " err=" + ctx_.activity.last_error();
}

// ---- lease views -------------------------------------------------------

bool Agent::holds_lease() const {
  // Inside the fence margin the primary is demoting: not a primary for health checks.
  int64_t now = ctx_.now();
  uint64_t e = state().epoch;
  const LeaseHold& h = ctx_.lease.hold;
  return h.holds(e, now) && !h.must_fence(e, now) && state().primary == ctx_.self();
}
int64_t Agent::lease_remaining_ms() const {
  return holds_lease() ? std::max<int64_t>(0, ctx_.lease.hold.until_ms() - ctx_.now()) : 0;
}
int64_t Agent::lease_until_ms() const {
  const LeaseHold& h = ctx_.lease.hold;
  return h.epoch() != 0 && h.holds(h.epoch(), ctx_.now()) ? h.until_ms() : 0;
}
bool Agent::pg_ready_as_primary() const {
  const ClusterState& s = state();
  return holds_lease() && ctx_.local.made_primary() && s.ready_epoch == s.epoch && !s.switchover;
}

// ---- reconcile: one turn, one controller ------------------------------

bool Agent::foreign_or_unusable() {
  const ClusterState& s = state();
  const pgctl::DataDirInfo& data = ctx_.local.data();
  if (data.kind == Kind::unusable) {
    ctx_.activity.set(AgentState::data_dir_unusable);
    return true;
  }
  if (data.kind != Kind::cluster || data.system_id == s.system_id) return false;
  if (ctx_.local.status().running) {
    ctx_.activity.begin(AgentState::stopping_pg, "of a foreign cluster");
    ctx_.pg().stop(pgctl::StopMode::fast, ctx_.activity.done());
    return true;
  }
  if (ctx_.cfg.pg_move_aside_foreign) {
    std::string moved;
    pgctl::Result r = ctx_.pg().move_aside(&moved);
    if (r.ok) PW_WARN("agent", "foreign data directory moved aside to %s", moved.c_str());
    else ctx_.activity.error("moving the foreign data directory aside failed: " + r.error);
    ctx_.local.refresh();
    ctx_.kick();
    return true;
  }
  ctx_.activity.set(AgentState::refusing_foreign_data);
  return true;
}

void Agent::reconcile() {
  if (ctx_.activity.busy() || ctx_.stopping || !ctx_.raft) return;
  if (still_resuming()) return;
  const ClusterState& s = state();
  bootstrap_.settle();
  const bool my_claim = s.init == InitKind::claimed && s.init_node == ctx_.self();
  // Bootstrap: PostgreSQL is read-write before any lease exists (nothing to
  // protect yet) while our claim is current, or until the lease of the epoch
  // bootstrap_done opened arrives. A switchover stops PostgreSQL on purpose.
  bool exempt = switchover_.switching() ||
                (bootstrap_.running() &&
                 (bootstrap_.claim_is_current(s.claim_index) ||
                  (s.primary == ctx_.self() && !ctx_.lease.hold.holds(s.epoch, ctx_.now()))));
  if (primary_.fence_if_needed(exempt)) return;
  // A restart in place is past settling: nothing new may start (its
  // callback would be lost with this image); fencing above still runs.
  if (handoff_.frozen()) return;
  if (ctx_.activity.backing_off(ctx_.now())) return;
  if (bootstrap_.dispose_abandoned()) return;
  if (s.init == InitKind::absent) {
    ctx_.activity.set(AgentState::waiting_bootstrap_decision, ctx_.local.has_data() ? "has data" : "");
    return;
  }
  if (s.init == InitKind::claimed) {
    if (my_claim) bootstrap_.reconcile();
    else ctx_.activity.set(AgentState::waiting_for_claimant, s.init_node);
    return;
  }
  if (foreign_or_unusable()) return;
  if (restart_.run()) return;
  if (s.primary != ctx_.self()) {
    switchover_.reset();
    standby_.reconcile();
    return;
  }
  if (s.switchover && s.switchover->first == ctx_.self()) return switchover_.reconcile();
  switchover_.reset();  // a switchover was cleared (aborted): resume as primary
  if (ctx_.cfg.ha_synchronous_mode && !ctx_.local.empty() && ctx_.lease.hold.holds(s.epoch, ctx_.now()) &&
      !ctx_.lease.hold.must_fence(s.epoch, ctx_.now())) {
    if (s.ready_epoch != s.epoch) {
      // A new epoch: commit C = {} and reset PostgreSQL's setting *before*
      // promoting and preparing (role, password), not after. This node's
      // PostgreSQL may carry the names of an earlier epoch it led (the
      // setting survives its stop, rewind and restart as a standby); promoted
      // with them, the role update waits for a synchronous standby that
      // cannot come — standbys follow only a ready primary — and the epoch
      // never became ready (found by the fault harness: isolate_peers twice
      // in synchronous mode). Nothing is writable for clients before `ready`,
      // so committing the empty set first is as safe as right after.
      if (!sync_.configured(s.epoch)) {
        sync_.reconcile();
        return;
      }
    } else if (!ctx_.local.running() && sync_.prepare_start()) {
      return;
    }
  }
  if (!primary_.reconcile()) return;
  // Synchronous mode: PostgreSQL's setting and the committed set are made
  // consistent for this epoch before any client is let in (I4).
  if (ctx_.cfg.ha_synchronous_mode && !sync_.configured(s.epoch)) {
    sync_.reconcile();
    return;
  }
  if (!primary_.announce_ready()) return;
  if (ctx_.cfg.ha_synchronous_mode && sync_.reconcile()) return;
  ctx_.activity.set(AgentState::primary);
}

// ---- in-place restart ------------------------------------------------------

void Agent::prepare_handoff(HandoffDone done) {
  handoff_.begin([this, done](const std::string& error) {
    if (!error.empty()) {
      PW_WARN("agent", "restart in place refused: %s; going on as before", error.c_str());
      ctx_.kick();
      done(error, AgentHandoff{});
      return;
    }
    AgentHandoff h = carry_over();
    PW_INFO("agent", "restart in place: ready epoch=%llu lease_left_ms=%lld applied=%llu pg_running=%d primary=%d",
            static_cast<unsigned long long>(h.epoch),
            static_cast<long long>(h.epoch ? h.lease_until_ms - ctx_.now() : 0),
            static_cast<unsigned long long>(h.applied_index), h.pg_running ? 1 : 0, h.made_primary ? 1 : 0);
    done("", h);
  });
}

std::string Agent::handoff_blocker() const {
  if (!ctx_.raft) return "raft is not running";
  if (resuming_) return "still resuming from the previous restart";
  if (ctx_.activity.busy()) return "busy: " + ctx_.activity.text();
  if (bootstrap_.running()) return "bootstrap in progress";
  const ClusterState& s = state();
  if (s.switchover && (s.switchover->first == ctx_.self() || s.switchover->second == ctx_.self()))
    return "switchover in progress";
  if (s.primary == ctx_.self() && ctx_.activity.state() != AgentState::primary)
    return "the primary is not serving yet (" + ctx_.activity.text() + ")";
  return "";
}

AgentHandoff Agent::carry_over() const {
  AgentHandoff h;
  const ClusterState& s = state();
  const int64_t now = ctx_.now();
  const LeaseHold& hold = ctx_.lease.hold;
  if (s.primary == ctx_.self() && hold.holds(s.epoch, now)) {
    h.epoch = s.epoch;
    h.lease_until_ms = hold.until_ms();
  }
  h.applied_index = ctx_.raft ? ctx_.raft->applied_index() : 0;
  h.made_primary = ctx_.local.made_primary();
  h.pg_running = ctx_.local.running();
  h.needs_rewind = ctx_.local.needs_rewind();
  h.following = ctx_.local.following();
  h.prepared_epoch = ctx_.prepared_epoch;
  h.slots_roster_epoch = ctx_.slots_roster_epoch;
  {
    size_t k = 0;
    sync_.carry(&h.sync_epoch, &h.sync_names, &k);
    h.sync_k = k;
  }
  return h;
}

void Agent::resume(const AgentHandoff& h) {
  resuming_ = true;
  resumed_from_ = h;
  const int64_t now = ctx_.now();
  const ClusterState& s = state();
  // Only a lease of the epoch the replayed log shows us holding: anything
  // else is an older record or a log that moved on (then we are no longer
  // the holder and the primary controller fences as after any restart).
  if (h.epoch != 0 && h.lease_until_ms > now) ctx_.lease.hold.inherit(h.epoch, h.lease_until_ms);
  if (ctx_.pg().postmaster_pid() > 0) {
    if (h.made_primary) ctx_.local.mark_primary();
    else if (h.pg_running) ctx_.local.mark_standby(h.following);
  }
  ctx_.local.set_needs_rewind(h.needs_rewind);
  ctx_.prepared_epoch = h.prepared_epoch;
  ctx_.slots_roster_epoch = h.slots_roster_epoch;
  sync_.resume(h.sync_epoch, h.sync_names, static_cast<size_t>(h.sync_k));
  // A holder waits for the log at most until it would have to fence; a
  // standby for a lease (its state only steers its own standby).
  resume_wait_until_ = ctx_.lease.hold.holds(h.epoch, now) ? h.lease_until_ms - ctx_.cfg.ha_fence_margin_ms
                                                            : now + ctx_.cfg.ha_lease_ms;
  ctx_.activity.set(AgentState::resuming, "applying the log");
  PW_INFO("agent",
          "resuming after a restart in place epoch=%llu (log shows %llu, primary=%s) lease_left_ms=%lld "
          "applied=%llu (old image had %llu) postmaster=%d",
          static_cast<unsigned long long>(h.epoch), static_cast<unsigned long long>(s.epoch),
          s.primary.empty() ? "-" : s.primary.c_str(),
          static_cast<long long>(h.epoch ? h.lease_until_ms - now : 0),
          static_cast<unsigned long long>(ctx_.raft ? ctx_.raft->applied_index() : 0),
          static_cast<unsigned long long>(h.applied_index), static_cast<int>(ctx_.pg().postmaster_pid()));
}

bool Agent::still_resuming() {
  if (!resuming_) return false;
  const uint64_t applied = ctx_.raft->applied_index();
  const int64_t now = ctx_.now();
  if (applied < resumed_from_.applied_index && now < resume_wait_until_) {
    ctx_.activity.set(AgentState::resuming, "applying the log");
    return true;
  }
  resuming_ = false;
  const ClusterState& s = state();
  if (applied < resumed_from_.applied_index)
    PW_WARN("agent", "resumed before the log caught up (applied %llu of %llu): acting on what it shows",
            static_cast<unsigned long long>(applied), static_cast<unsigned long long>(resumed_from_.applied_index));
  PW_INFO("agent", "resumed after the restart in place epoch=%llu primary=%s holds_lease=%d postmaster=%d",
          static_cast<unsigned long long>(s.epoch), s.primary.empty() ? "-" : s.primary.c_str(),
          ctx_.lease.hold.holds(s.epoch, now) ? 1 : 0, static_cast<int>(ctx_.pg().postmaster_pid()));
  return false;
}

// ---- shutdown ------------------------------------------------------------

void Agent::shutdown(std::function<void()> done) {
  ctx_.stopping = true;
  ctx_.activity.set_stopping();
  ctx_.activity.set(AgentState::stopping);
  if (ctx_.raft) gossip();  // a stopping primary takes no new clients (MemberStatus::serving)
  stopped_cb_ = std::move(done);
  bool primary = state().primary == ctx_.self();
  auto finish = [this, primary](const pgctl::Result&) {
    ctx_.local.mark_stopped();
    ctx_.fencer.disarm();
    const ClusterState& st = state();
    if (primary && st.primary == ctx_.self() && ctx_.raft) {
      Command c;
      c.type = CmdType::release;
      c.node = ctx_.self();
      c.epoch = st.epoch;
      c.reason = "failover: " + ctx_.self() + " shut down";
      c.wall_ms = ctx_.world.wall_ms();
      ctx_.raft->propose(c.encode(), [this](const consensus::ProposalResult&) {
        if (stopped_cb_) std::exchange(stopped_cb_, nullptr)();
      });
      return;
    }
    if (stopped_cb_) std::exchange(stopped_cb_, nullptr)();
  };
  if (ctx_.pg().postmaster_pid() > 0) {
    PW_INFO("agent", "stopping PostgreSQL for shutdown");
    ctx_.pg().stop(pgctl::StopMode::fast, finish);
  } else {
    finish(pgctl::Result::success());
  }
}

}  // namespace pw::node
