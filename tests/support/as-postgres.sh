#!/usr/bin/env bash
# Runs a test command as the `postgres` OS user when invoked as root
# (PostgreSQL refuses to run as root); runs it unchanged otherwise.
# Usage in a tests/*.cmake fragment:
#   add_test(NAME x COMMAND ${PW_AS_POSTGRES} $<TARGET_FILE:x>)
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then
  exec runuser -u postgres -- env PATH="$PATH" TMPDIR="${TMPDIR:-/tmp}" "$@"
fi
exec "$@"
