// node/cli.h — the pgwarden command line: global flags (--help, --version)
// and a table of subcommands, each in its own node/cmd_<name>.cc.
//
// Adding a subcommand: write `int cmd_foo(int argc, char** argv)` in
// node/cmd_foo.cc, declare it below, and add one line to kSubcommands in
// node/cli.cc. A subcommand gets argv[0] = its own name and the arguments
// after it; it returns the process exit code (see ExitCode).
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

struct Subcommand {
  const char* name;
  const char* summary;  // one line for `pgwarden --help`
  int (*run)(int argc, char** argv);
};

/// Entry point called by main(): dispatches on argv[1]. `version` is the
/// build's version string (PGWARDEN_VERSION, defined for main.cc only).
int cli_main(int argc, char** argv, const char* version);

/// The version string given to cli_main (for subcommands that print it).
const char* cli_version();

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

// Subcommands (one file each).
int cmd_check_config(int argc, char** argv);  // node/cmd_check_config.cc
int cmd_run(int argc, char** argv);           // node/cmd_run.cc
int cmd_ctl(int argc, char** argv);           // node/cmd_ctl.cc
int cmd_recover(int argc, char** argv);       // node/cmd_recover.cc

}  // namespace pw::node
