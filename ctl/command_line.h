// ctl/command_line.h — what every subcommand shares: exit codes, option
// parsing, loading the config with errors printed as FILE:LINE. The
// dispatch table that names the subcommands is the daemon's (node/cli.h);
// these helpers live here because the client commands (ctl, check-config)
// need them and ctl/ must not include node/.
#pragma once

#include <string>

#include "conf/config.h"

namespace pw::node {

/// Exit codes shared by every subcommand.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,  // the command ran and failed (e.g. cannot reach the cluster)
  kExitUsage = 2,    // bad command line or invalid configuration
};

/// Where subcommands look for the config when -c is not given.
inline constexpr const char* kDefaultConfigPath = "/etc/pgwarden/pgwarden.ini";

/// Prints "pgwarden <cmd>: <message>" and a hint to stderr; returns kExitUsage.
int usage_error(const char* cmd, const std::string& message);

/// Parses one option that takes a value, in the forms "-c FILE",
/// "--config FILE" and "--config=FILE". On a match stores the value, advances
/// *i past what it consumed and returns true; a match without a value sets
/// *missing. `short_name` may be nullptr.
bool take_option(int argc, char** argv, int* i, const char* short_name, const char* long_name,
                 std::string* value, bool* missing);

/// Loads and validates the config at `path` for subcommand `cmd`. On errors
/// prints each one ("FILE:LINE: [section] key: message") and a count line to
/// stderr and returns false; the caller then exits with kExitUsage.
bool load_config_or_report(const char* cmd, const std::string& path, conf::Config* out);

// The client-side subcommands (one file each in ctl/).
int cmd_check_config(int argc, char** argv);  // ctl/cmd_check_config.cc
int cmd_ctl(int argc, char** argv);           // ctl/cmd_ctl.cc

}  // namespace pw::node
