#!/usr/bin/env bash
# tests/cli/check_config.sh PGWARDEN SOURCE_DIR VERSION — drives the pgwarden
# binary like an operator would and checks exit codes and output.
# The examples name secret files that do not exist here (/etc/pgwarden/...);
# each example is copied with its secret paths rewritten to fresh 0600 files
# (owned by postgres when we are root, since the daemon drops to that user).
set -euo pipefail
PGW=$1 SRC=$2 VERSION=$3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pgwarden-cli-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# run EXPECTED_RC ARGS... — runs pgwarden, keeps stdout/stderr in $WORK/out, $WORK/err.
run() {
  local want=$1; shift
  local rc=0
  "$PGW" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    fail "pgwarden $* exited $rc, expected $want"
    sed 's/^/  stdout: /' "$WORK/out" >&2
    sed 's/^/  stderr: /' "$WORK/err" >&2
  fi
}
expect_in() {  # FILE TEXT
  grep -qF -- "$2" "$WORK/$1" || fail "$1 lacks '$2'"
}

# --- global flags and usage errors -------------------------------------------
run 0 --help;        expect_in out "check-config"; expect_in out "Usage: pgwarden <command>"
run 0 help;          expect_in out "check-config"
run 0 --version;     [ "$(cat "$WORK/out")" = "pgwarden $VERSION" ] || fail "--version printed '$(cat "$WORK/out")'"
run 2;               expect_in err "Usage: pgwarden"
run 2 frobnicate;    expect_in err "unknown command 'frobnicate'"
run 2 --frobnicate;  expect_in err "unknown option '--frobnicate'"
run 0 check-config --help; expect_in out "Usage: pgwarden check-config"
run 2 check-config --bogus; expect_in err "unknown option '--bogus'"
run 2 check-config -c;      expect_in err "needs a file name"
run 2 check-config -c "$WORK/none.ini"; expect_in err "$WORK/none.ini:0: cannot open: No such file or directory"
run 0 check-config --reference; expect_in out '| `[ha]` `lease` | `3s` |'

# --- every example passes ------------------------------------------------------
localize() {  # EXAMPLE OUT — copy with secret files made real
  local n=0 line key
  : >"$2"
  while IFS= read -r line || [ -n "$line" ]; do
    key=${line%%=*}; key=${key%% *}
    case "$key" in
      replication_password_file|token_file|key_file|ca_file|cert_file)
        if [[ "$line" == *=* ]]; then
          n=$((n + 1))
          local secret="$WORK/secret-$(basename "$1")-$n"
          ( umask 077; echo "pw-secret-content" >"$secret" )
          if [ "$(id -u)" = 0 ]; then chown postgres "$secret"; fi
          line="$key = $secret"
        fi ;;
    esac
    printf '%s\n' "$line" >>"$2"
  done <"$1"
}
count=0
for ex in "$SRC"/examples/local-3node/*.ini "$SRC"/examples/seed/*.ini; do
  name=$(basename "$ex" .ini)
  localize "$ex" "$WORK/$name.ini"
  run 0 check-config -c "$WORK/$name.ini"
  expect_in out "[node]"
  expect_in out "name = $name"
  expect_in out "replication_password_file = $WORK/secret-"
  grep -q "pw-secret-content" "$WORK/out" && fail "$name: a secret's content was printed"
  # The printed configuration is itself a valid config.
  cp "$WORK/out" "$WORK/$name.effective.ini"
  run 0 check-config --quiet --config="$WORK/$name.effective.ini"
  [ -s "$WORK/out" ] && fail "--quiet printed something"
  count=$((count + 1))
done
[ "$count" = 6 ] || fail "expected 6 examples, found $count"

# The same example without its secret files fails, naming them.
run 2 check-config -c "$SRC/examples/seed/db-postgres-01.ini"
expect_in err "[postgresql] replication_password_file: /etc/pgwarden/replication.pass does not exist"

# --- a broken file: every error printed, one per line, exit 2 ----------------
( umask 077; echo pw >"$WORK/ok.pass" ); [ "$(id -u)" = 0 ] && chown postgres "$WORK/ok.pass"
echo token >"$WORK/open.token"; chmod 644 "$WORK/open.token"
cat >"$WORK/broken.ini" <<INI
[node]
name = n9
state_dir = /var/lib/pgwarden
[clustr]
[cluster]
name = c
members = n1=127.0.0.11, n2=127.0.0.12
[postgresql]
bin_dir = /usr/lib/postgresql/15/bin
data_dir = /data
replication_password_file = $WORK/ok.pass
[proxy]
hold_timeout = 10
[api]
token_file = $WORK/open.token
[ha]
leese = 3s
INI
run 2 check-config -c "$WORK/broken.ini"
B="$WORK/broken.ini"
expect_in err "$B:2: [node] name: 'n9' is not in [cluster] members (n1, n2)"
expect_in err "$B:4: [clustr]: unknown section; did you mean [cluster]?"
expect_in err "$B:13: [proxy] hold_timeout: bad value: '10' has no unit"
expect_in err "$B:15: [api] token_file: $WORK/open.token is accessible by group or others (mode 0644); run: chmod 600 $WORK/open.token"
expect_in err "$B:17: [ha] leese: unknown key; did you mean 'lease'?"
expect_in err "pgwarden check-config: 5 errors in $B"
lines=$(grep -c "^$B:" "$WORK/err" || true)
[ "$lines" = 5 ] || fail "expected 5 error lines, got $lines"
[ -s "$WORK/out" ] && fail "nothing may go to stdout on failure"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "check-config CLI: all checks passed"
