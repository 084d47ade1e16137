// pgctl/version.h — the major version of the PostgreSQL binaries in bin_dir
// (`postgres --version`). This is the one child pgctl runs synchronously: once,
// when the Postgres object is created (before it serves the loop), bounded by
// a short timeout, because inspect() — synchronous by contract — needs it to
// tell a data directory of another major version apart.
#pragma once

#include <cstdint>
#include <string>

namespace pw::pgctl {

/// Parses "postgres (PostgreSQL) 15.4 (Debian 15.4-1)" → 15; 0 if unknown.
uint32_t parse_version_output(const std::string& text);
/// Runs `<bin_dir>/postgres --version`; 0 with `*error` set on failure.
uint32_t detect_bin_major(const std::string& bin_dir, int64_t timeout_ms, std::string* error);

}  // namespace pw::pgctl
