#!/usr/bin/env bash
# Runs a test command as the `postgres` OS user when invoked as root
# (PostgreSQL refuses to run as root); runs it unchanged otherwise.
# Usage in a tests/*.cmake fragment:
#   add_test(NAME x COMMAND ${PW_AS_POSTGRES} $<TARGET_FILE:x>)
#
# A clone may live under a private directory (/root/x, mode 0700) that the
# postgres user cannot traverse. Then the test binary (and the helper
# programs beside it that tests start, named in PW_AS_POSTGRES_HELPERS) is
# copied to a private temporary directory owned by postgres and run from
# there, from that directory; PW_HELPER_DIR tells the test where its helpers
# are. Nothing in the user's directories changes mode.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  exec "$@"
fi
bin="$1"
shift
if runuser -u postgres -- test -x "$bin"; then
  exec runuser -u postgres -- env PATH="$PATH" TMPDIR="${TMPDIR:-/tmp}" PW_HELPER_DIR="$(dirname "$bin")" "$bin" "$@"
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pw-as-postgres.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
install -m 0755 "$bin" "$tmp/"
for h in ${PW_AS_POSTGRES_HELPERS:-}; do
  [ -e "$(dirname "$bin")/$h" ] && install -m 0755 "$(dirname "$bin")/$h" "$tmp/"
done
chown -R postgres: "$tmp"
chmod 0700 "$tmp"
# Child tools (psql, pg_basebackup) must not start in a directory postgres
# cannot enter (ctest runs tests from the build tree).
cd "$tmp"
set +e
runuser -u postgres -- env PATH="$PATH" TMPDIR="${TMPDIR:-/tmp}" PW_HELPER_DIR="$tmp" "$tmp/$(basename "$bin")" "$@"
rc=$?
exit $rc
