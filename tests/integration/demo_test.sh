#!/usr/bin/env bash
# tests/integration/demo_test.sh SOURCE_DIR BINARY_DIR BUILD_TYPE INSTALL_PREFIX
#
# The README's first command, end to end: `make -f Makefile.dist demo` into a
# temporary directory on this test's own loopback block (127.0.40.11-13), then
# what the demo tells its user to do — write and read a row through the proxy
# on each node's 5432, kill -9 the primary's daemon, see a write succeed again
# through a surviving node with nothing lost, run `demo` again (it restarts the
# killed node, which rejoins) — and `demo-stop`, after which no process of the
# demo may remain. The make runs against this test's own build tree, which is
# already built, so its build step has nothing to do.
set -euo pipefail
SRC=$1 BIN=$2 TYPE=${3:-Release} PREFIX=${4:-/usr/local}
NET=127.0.40
PG_BIN=${PW_PG_BIN_DIR:-/usr/lib/postgresql/15/bin}
# A short path: PostgreSQL's socket lives under it (sockaddr_un holds 107 bytes).
WORK=$(mktemp -d /tmp/pwdemo-XXXXXX)
chmod 755 "$WORK"  # the daemons run as postgres when we are root
DEMO_DIR=$WORK/c
STOPPED=0

log() { echo "demo_test: $*"; }
fail() {
  echo "demo_test: FAIL: $*" >&2
  exit 1
}

# mk TARGET — the Makefile as the README uses it, pointed at our build tree and block.
mk() {
  PG_BIN_DIR=$PG_BIN DEMO_TIMEOUT=300 make --no-print-directory -C "$SRC" -f Makefile.dist \
    BUILD="$BIN" TYPE="$TYPE" PREFIX="$PREFIX" JOBS=2 DEMO_DIR="$DEMO_DIR" DEMO_NET="$NET" "$@"
}

cleanup() {
  local rc=$?
  if [ $STOPPED = 0 ]; then
    if [ $rc != 0 ]; then
      for f in "$DEMO_DIR"/n*/pgwarden.log; do
        [ -f "$f" ] && { echo "===== $f (last 60 lines)"; tail -n 60 "$f"; }
      done
    fi
    mk demo-stop >/dev/null 2>&1 || true
  fi
  # Whatever the outcome: nothing of ours may survive the test.
  pkill -KILL -f "$WORK/" 2>/dev/null || true
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

# client_sql IP SQL — through the proxy on IP:5432 with the password the demo printed.
client_sql() {
  PGPASSWORD=$PASSWORD PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
    -h "$1" -p 5432 -U "$ROLE" -d postgres -c "$2"
}

# socket_sql NODE SQL — on node NODE's PostgreSQL over its socket (peer authentication).
socket_sql() {
  local as=()
  [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
  (cd / && PGCONNECT_TIMEOUT=5 "${as[@]}" "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
    -h "$DEMO_DIR/n$1/state" -p 15432 -U "$ROLE" -d postgres -c "$2")
}

# wait_until SECONDS WHAT CMD... — polls CMD until it succeeds.
wait_until() {
  local t=$1 what=$2
  shift 2
  local deadline=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out after ${t}s waiting for $what"
    sleep 0.5
  done
}

# starttime PID — distinguishes a process from a later one with a recycled pid.
starttime() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo "${20}"
}

# tree PID — PID and its descendants, as pid:starttime.
tree() {
  local st c
  st=$(starttime "$1") || return 0
  echo "$1:$st"
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree "$c"; done
}

# ---- 1. the demo comes up ------------------------------------------------------
log "make -f Makefile.dist demo DEMO_DIR=$DEMO_DIR DEMO_NET=$NET"
mk demo >"$WORK/demo.out" 2>&1 || { cat "$WORK/demo.out"; fail "make demo exited non-zero"; }
cat "$WORK/demo.out"
out=$(cat "$WORK/demo.out")
for want in "| Member" "Primary" "kill -9" "switchover --to" "demo-stop" "-h $NET.12"; do
  grep -qF -- "$want" <<<"$out" || fail "the demo's output lacks '$want'"
done
# The connection line the user is told to copy.
line=$(grep -m1 -oE "PGPASSWORD=[^ ]+ [^ ]*psql -h $NET\.11 -p 5432 -U [^ ]+" <<<"$out") ||
  fail "the demo does not print how to connect to $NET.11:5432"
PASSWORD=$(sed -E 's/^PGPASSWORD=([^ ]+) .*/\1/' <<<"$line")
ROLE=${line##* }
log "password=$PASSWORD role=$ROLE"

# ---- 2. a row through each node's proxy; all reach the same primary -------------
client_sql "$NET.11" "CREATE TABLE demo_rows(id serial PRIMARY KEY, via text NOT NULL)"
primary_ip=""
for i in 11 12 13; do
  got=$(client_sql "$NET.$i" "INSERT INTO demo_rows(via) VALUES ('$NET.$i');
                              SELECT host(inet_server_addr()) || ' ' || count(*) FROM demo_rows WHERE via = '$NET.$i'")
  ip=${got% *}
  [ "${got#* }" = 1 ] || fail "the row written through $NET.$i:5432 reads back as '$got'"
  [ -z "$primary_ip" ] || [ "$ip" = "$primary_ip" ] || fail "$NET.$i:5432 reached $ip, $NET.11:5432 reached $primary_ip"
  primary_ip=$ip
done
p=$((${primary_ip##*.} - 10))
log "all three proxies reached n$p ($primary_ip)"

# Asynchronous replication: let both replicas replay the rows first, so the
# failover below must keep them.
replayed() { [ "$(socket_sql "$1" "SELECT pg_last_wal_replay_lsn() >= '$2'")" = t ]; }
lsn=$(client_sql "$NET.11" "SELECT pg_current_wal_lsn()")
for i in 1 2 3; do
  [ $i = $p ] || wait_until 60 "n$i to replay $lsn" replayed $i "$lsn"
done

# ---- 3. failover: kill -9 the primary's daemon, as the demo suggests ------------
old_pm=$(head -n1 "$DEMO_DIR/n$p/data/postmaster.pid")
old_pm_st=$(starttime "$old_pm") || fail "n$p's postmaster $old_pm is not running"
kill -9 "$(cat "$DEMO_DIR/n$p/pgwarden.pid")"
log "killed n$p's daemon (kill -9)"
# Its PostgreSQL must not outlive it (PDEATHSIG), or it would still take writes.
gone() { [ "$(starttime "$1" 2>/dev/null)" != "$2" ]; }
wait_until 30 "n$p's postmaster to exit with its daemon" gone "$old_pm" "$old_pm_st"

# written_after_failover IP — a write through IP:5432 lands on a new primary.
new_ip=""
written_after_failover() {
  local got
  got=$(client_sql "$1" "INSERT INTO demo_rows(via) VALUES ('after failover via $1') RETURNING host(inet_server_addr())") || return 1
  [ -n "$got" ] && [ "$got" != "$primary_ip" ] || return 1
  new_ip=$got
}
survivor_written() {
  local i
  for i in 1 2 3; do
    [ $i = $p ] && continue
    written_after_failover "$NET.$((10 + i))" && return 0
  done
  return 1
}
wait_until 120 "a write through a surviving node's 5432" survivor_written
log "a write succeeded on the new primary $new_ip"
for i in 1 2 3; do
  [ $i = $p ] && continue
  got=$(client_sql "$NET.$((10 + i))" "SELECT host(inet_server_addr()) || ' ' || count(*) FILTER (WHERE via LIKE '$NET.%') FROM demo_rows")
  [ "$got" = "$new_ip 3" ] || fail "through $NET.$((10 + i)):5432, expected the new primary with the 3 first rows, got '$got'"
done

# ---- 4. demo again: the same cluster, the killed node restarted and streaming ----
mk demo >"$WORK/demo2.out" 2>&1 || { cat "$WORK/demo2.out"; fail "the second make demo exited non-zero"; }
cat "$WORK/demo2.out"
grep -q "is already running" "$WORK/demo2.out" || fail "the second demo did not reuse the running nodes"
grep -q "started n$p " "$WORK/demo2.out" || fail "the second demo did not restart n$p"
grep -qF "Client password for role '$ROLE': $PASSWORD" "$WORK/demo2.out" || fail "the second demo changed the password"
got=$(client_sql "$NET.$((10 + p))" "SELECT count(*) FROM demo_rows")
[ "$got" -ge 4 ] || fail "after the restart the table has $got rows"
[ "$(socket_sql "$p" "SELECT status FROM pg_stat_wal_receiver")" = streaming ] ||
  fail "n$p did not rejoin as a streaming replica"

# ---- 5. demo-stop leaves nothing behind ------------------------------------------
procs=()
for i in 1 2 3; do
  pid=$(cat "$DEMO_DIR/n$i/pgwarden.pid")
  mapfile -t -O ${#procs[@]} procs < <(tree "$pid")
done
[ ${#procs[@]} -ge 9 ] || fail "expected 3 daemons with their PostgreSQL, saw ${#procs[@]} processes: ${procs[*]}"
log "demo-stop with ${#procs[@]} processes running"
mk demo-stop || fail "make demo-stop exited non-zero"
STOPPED=1
for k in "${procs[@]}"; do
  [ "$(starttime "${k%%:*}" 2>/dev/null)" != "${k#*:}" ] || fail "process ${k%%:*} ($(ps -o args= -p "${k%%:*}")) survived demo-stop"
done
if left=$(pgrep -af "$WORK/"); then fail "processes of $WORK survived demo-stop: $left"; fi
if ss -Hltn | grep -F " $NET."; then fail "something still listens on $NET.x"; fi
out=$(mk demo-stop) || fail "a second demo-stop exited non-zero"
grep -q "no demo process is running" <<<"$out" || fail "a second demo-stop said: $out"
log "PASS"
