// node/reload.h — SIGHUP (and `systemctl reload`): the daemon re-reads its
// INI. What can change in a running daemon changes at once ([node]
// log_level, the [api] token); every other key that differs from what the
// daemon runs with is logged as needing a restart of pgwarden — never
// silently ignored, never fatal. A file that no longer loads is reported
// with its errors and the running configuration stays in force.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "conf/config.h"

namespace pw::node {

/// One key whose value in the file differs from the running one.
struct KeyChange {
  std::string section, key;
  std::string running, file;  // as check-config shows them; "" = not set
  bool operator==(const KeyChange&) const = default;
};

/// Every key that differs between two configurations, in check-config's
/// order (sections, then schema order; [postgresql.parameters] by name).
/// Secrets compare by their files' paths, as check-config shows them.
std::vector<KeyChange> config_changes(const conf::Config& running, const conf::Config& file);

/// True for the keys a running daemon applies on SIGHUP.
bool applies_live(const KeyChange& c);

/// Sets the log level from a [node] log_level value (debug, info, warn, error).
void apply_log_level(const std::string& level);

/// The SIGHUP handler's work, minus the signal. `reload_token` re-reads the
/// API token from a file and throws std::runtime_error when it cannot.
class Reloader {
 public:
  using TokenReloader = std::function<void(const std::string& token_file)>;
  Reloader(conf::Config running, TokenReloader reload_token)
      : running_(std::move(running)), reload_token_(std::move(reload_token)) {}

  struct Outcome {
    bool loaded = false;                  // the file loaded without errors
    std::vector<std::string> errors;      // FILE:LINE: [section] key: message, when not loaded
    std::vector<KeyChange> applied;       // live keys now in force
    std::vector<KeyChange> needs_restart; // differ, and take effect at the next start
    std::string token_error;              // the token file could not be re-read
  };
  /// Re-reads running().source_file, applies what it can, logs one line per
  /// event and returns what happened.
  Outcome reload();
  const conf::Config& running() const { return running_; }

 private:
  conf::Config running_;  // with the applied live keys updated
  TokenReloader reload_token_;
};

}  // namespace pw::node
