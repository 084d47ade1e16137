// node/cli.h — the pgwarden command line: global flags (--help, --version)
// and a table of subcommands, each in its own cmd_<name>.cc (node/ for the
// host's commands, ctl/ for the client ones).
//
// Adding a subcommand: write `int cmd_foo(int argc, char** argv)` in
// node/cmd_foo.cc, declare it below, and add one line to kSubcommands in
// node/cli.cc. A subcommand gets argv[0] = its own name and the arguments
// after it; it returns the process exit code (see ExitCode).
#pragma once

#include <string>

#include "ctl/command_line.h"

namespace pw::node {

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

// Subcommands of the host (node/); the client ones are in ctl/command_line.h.
int cmd_run(int argc, char** argv);      // node/cmd_run.cc
int cmd_recover(int argc, char** argv);  // node/cmd_recover.cc

}  // namespace pw::node
