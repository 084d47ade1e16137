// ha/sync_controller.h — synchronous mode on the primary (I4).
//
// PostgreSQL runs with synchronous_standby_names = S ("ANY 1 (S)", or ""
// = asynchronous) and the log holds the committed set C. With ANY 1, a
// commit acknowledged to a client is on the primary and on at least one
// member of S — which one is not known. Failover (decider.cc) promotes only
// a member of C that is proven the most advanced of C (every member of C
// heard since the primary stopped); with C empty, only the last holder
// itself may come back. Hence the pair (C, S) is safe when
//     C = ∅    (only the last holder is eligible: it has every commit), or
//     S ≠ ∅ and C ⊇ S.
// Every step below changes C or S alone and keeps the pair safe: to go
// asynchronous, commit C = ∅ first; to go from asynchronous to S = D, set
// S = D while C = ∅, then commit C = D; to change S, commit C ∪ D before
// widening S, and narrow S before committing the smaller C.
//
// Leaving asynchronous mode needs one more step: commits acknowledged while
// S was empty are only on the primary. So after S = D takes effect, C = D is
// committed only once a member of D has replayed past the primary's
// position measured after the change (the most advanced member of C then
// holds them too). Narrowing needs the same step: a commit acknowledged by
// a member that leaves S (it stopped streaming, or is tagged nofailover) may
// be on it alone, so C drops it only once a member of D has replayed past
// the position measured after S = D took effect; until then C still names
// it and failover waits to hear from it. (A first attempt at this broke I4
// in sim_ha seed 680164127357; the cause was the decider counting a
// restarted member's first status — no probe yet, LSN 0 — as its position,
// closed by MemberStatus::probe_age_ms.)
//
// D is the streaming members that could be promoted: nofailover members are
// never in it (a commit acknowledged by a DR replica alone would leave
// failover without a candidate).
//
// At a new epoch PostgreSQL's setting is unknown (inherited), so the first
// steps are C = ∅ then S = "": no `ready` (no client) before that.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ha/agent_context.h"

namespace pw::node {

class SyncController {
 public:
  explicit SyncController(AgentContext& ctx) : ctx_(ctx) {}
  /// One turn on the primary. Returns true while work is pending.
  bool reconcile();
  /// PostgreSQL's setting is known and safe for `epoch`.
  bool configured(uint64_t epoch) const { return epoch_ == epoch; }
  /// Before PostgreSQL starts as primary: makes it start with the committed
  /// set (a restarted daemon's PostgreSQL would otherwise start with an empty
  /// setting — asynchronous — under a non-empty committed set, while the
  /// epoch is already ready and clients are routed to it). Returns true while
  /// that is in progress.
  bool prepare_start();
  /// In-place restart (ha/handoff.h): what PostgreSQL's setting is, and
  /// for which epoch; the new image resumes from it instead of treating
  /// the setting as unknown (a reset to asynchronous and back).
  void carry(uint64_t* epoch, std::vector<std::string>* names) const {
    *epoch = epoch_;
    *names = pg_sync_;
  }
  void resume(uint64_t epoch, std::vector<std::string> names) {
    epoch_ = epoch;
    pg_sync_ = std::move(names);
  }

 private:
  void commit(std::vector<std::string> members, const char* what);
  void set_names(const std::vector<std::string>& names);

  AgentContext& ctx_;
  uint64_t epoch_ = 0;                // epoch whose synchronous_standby_names we manage
  std::vector<std::string> pg_sync_;  // S: names PostgreSQL waits for (ANY 1)
  bool inflight_ = false;
  uint64_t probe_mark_ = 0;   // S changed: a probe numbered past this saw it (0 = caught up since)
  uint64_t catch_up_lsn_ = 0; // ... and the primary's position it reported (0 = not yet)
};

}  // namespace pw::node
