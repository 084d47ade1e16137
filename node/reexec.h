// node/reexec.h — replacing the daemon's process image in place: the
// mechanism of `pgwarden`'s in-place restart (SIGUSR2; docs/operations.md).
//
// Why an execve() rather than an exit and a new process: the process stays
// the same, so everything tied to it stays too. The postmaster and the
// fencer keep their parent (PR_SET_PDEATHSIG fires when the forking thread
// exits, and an exec by that thread is no exit), their pipes stay open, and
// a service manager sees no stop (systemd keeps the main PID; a container
// whose PID 1 is pgwarden keeps running). If the new image never takes over
// — it is not there, hangs or is stopped — the fencer still holds the last
// lease deadline (I2); if it crashes, the process dies and PDEATHSIG ends
// the fencer and PostgreSQL as after any crash.
#pragma once

#include <string>
#include <vector>

namespace pw::node {

/// This process's command line, from /proc/self/cmdline. Empty (and
/// `*error` set) when it cannot be read.
std::vector<std::string> own_command_line(std::string* error);

/// The program an in-place restart executes: argv[0] when it names a path
/// (absolute, or relative to the unchanged working directory: the daemon
/// never changes it), so an upgrade that replaced the file or moved a
/// symlink takes effect; else the file /proc/self/exe was loaded from,
/// without the " (deleted)" the kernel appends once an upgrade replaced it.
std::string reexec_program(const std::vector<std::string>& argv, std::string* error);

/// Replaces the process image: `program` with `argv`, the current
/// environment plus `extra_env` ("KEY=VALUE", replacing a key already set),
/// the signal mask emptied. Only descriptors 0-2 and those in `keep` cross
/// the exec (every other is made close-on-exec first, whatever thread
/// opened it). If `program` cannot be executed, /proc/self/exe (the
/// running image) is tried. Returns only on failure, with the error.
std::string reexec(const std::string& program, const std::vector<std::string>& argv,
                   const std::vector<std::string>& extra_env, const std::vector<int>& keep);

}  // namespace pw::node
