// node/handoff.h — the record an in-place restart of pgwarden passes from
// the leaving image to the new one (node/reexec.h, ha/handoff.h): the
// agent's state plus the processes that stay running — the fencer (its
// pid, the write end of its pipe, the order it holds) and the postmaster
// (its pid and the read end of its output pipe) — and which version left.
// It travels in the environment variable PGWARDEN_HANDOFF, which the new
// image removes before it starts anything (PostgreSQL must not inherit it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ha/handoff.h"
#include "node/fencer.h"
#include "pgctl/postgres.h"

namespace pw::node {

inline constexpr char kHandoffEnv[] = "PGWARDEN_HANDOFF";

struct Handoff {
  std::string from_version;  // PGWARDEN_VERSION of the leaving image
  int64_t left_at_ms = 0;    // monotonic: when it replaced itself (the new image logs the gap)
  FencerHandle fencer;
  pgctl::PostmasterHandle postmaster;
  AgentHandoff agent;

  std::string encode() const;
  /// Total (see HandoffFields::decode). Missing fields keep their
  /// defaults: no fencer (a new one is started), no postmaster.
  static std::optional<Handoff> decode(const std::string& text, std::string* error);
};

/// Reads PGWARDEN_HANDOFF and removes it from the environment. nullopt when
/// absent (an ordinary start) or unreadable (then `*error` says why and the
/// daemon starts as after any restart: the fencer and PostgreSQL of the old
/// image are not taken over).
std::optional<Handoff> take_handoff_from_env(std::string* error);

/// Drops what in `h` is not this process's own: a fencer or postmaster that
/// is not our child, a descriptor that is not a pipe. The record is only
/// trusted as far as the kernel confirms it (an environment copied into an
/// unrelated process must not make us write orders into a random file).
/// Returns what was dropped ("" = nothing).
std::string verify_handoff(Handoff* h);

}  // namespace pw::node
