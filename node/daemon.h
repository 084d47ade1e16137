// node/daemon.h — `pgwarden run`: builds every part from the Config and
// wires them on the control thread's event_base (DESIGN §1): the fencer
// process, the Raft node and cluster state, pgctl, the proxy threads, the
// HA agent and the HTTP API; handles SIGTERM/SIGINT with a graceful stop and
// SIGHUP with a reload of the INI (node/reload.h).
#pragma once

#include "conf/config.h"

namespace pw::node {

/// Runs the daemon until SIGTERM/SIGINT. Returns the process exit code.
int run_daemon(const conf::Config& cfg);

/// Remembers SIGHUP and SIGUSR2 until the daemon's loop handles them: their
/// default action would end the process (and PostgreSQL with it). Call it
/// first thing in `pgwarden run`: after an in-place restart the new image
/// starts with default dispositions, and loading the configuration takes a
/// while.
void catch_signals_early();

/// When started as root, switches to `user` (PostgreSQL refuses root).
/// Returns an error message, or "" on success / when not root.
std::string drop_privileges(const std::string& user);

}  // namespace pw::node
