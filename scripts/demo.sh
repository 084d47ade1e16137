#!/usr/bin/env bash
# scripts/demo.sh — a local 3-node pgwarden cluster on one machine: the
# engine of `make -f Makefile.dist demo` and `demo-stop`.
#
#   scripts/demo.sh start  DIR   create (or restart) the cluster under DIR, wait
#                                until it serves writes, print how to use it
#   scripts/demo.sh stop   DIR   stop every process it started (SIGTERM, then
#                                SIGKILL after DEMO_STOP_TIMEOUT)
#   scripts/demo.sh status DIR   `pgwarden ctl list` of the running cluster
#
# Nodes n1..n3 listen on DEMO_NET.11-13 (all of 127/8 is local on Linux, so
# every node keeps the standard ports: raft 5010, PostgreSQL 15432, proxy
# 5432/5433, API 8008). Everything lives under DIR: secrets/, and per node
# nX/pgwarden.ini, nX/state (raft log, PostgreSQL socket), nX/data,
# nX/pgwarden.log, nX/pgwarden.pid. As root the daemons drop to the postgres
# user (PostgreSQL refuses root) and DIR belongs to it; as any other user
# they run as that user.
#
# Environment:
#   DEMO_NET           first three octets of the node addresses (default 127.0.0)
#   PGWARDEN           the pgwarden binary (default <repo>/build/pgwarden)
#   PG_BIN_DIR         PostgreSQL server binaries (default: newest /usr/lib/postgresql/*/bin)
#   DEMO_TIMEOUT       seconds to wait for a working cluster (default 240)
#   DEMO_STOP_TIMEOUT  seconds for a graceful stop before SIGKILL (default 60)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
NODES=(1 2 3)
CLUSTER=demo
PORTS=(5010 15432 5432 5433 8008)

die() { echo "demo: error: $*" >&2; exit 1; }
say() { echo "demo: $*"; }
usage() { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
CMD=$1
DIR_ARG=$2
# The default DEMO_DIR is inside the clone. Cloned under a private directory
# (/root/x, mode 0700) the daemons, which run as postgres, cannot reach it:
# then the demo lives in a directory of its own under /var/tmp, named after
# the clone so that demo-stop finds it again. Nothing in the clone changes mode.
if [ "$(id -u)" -eq 0 ] && [ "$DIR_ARG" = "$REPO/demo-cluster" ] &&
  ! runuser -u postgres -- test -x "$REPO" 2>/dev/null; then
  DIR_ARG=/var/tmp/pgwarden-demo-$(printf %s "$REPO" | md5sum | cut -c1-8)
  DEMO_DIR_MOVED=1
fi

# ---- settings ----------------------------------------------------------------

is_root() { [ "$(id -u)" -eq 0 ]; }

# PostgreSQL runs as the invoking user, or as postgres when started as root.
if is_root; then RUN_USER=postgres; else RUN_USER=$(id -un); fi

# as_user CMD... — runs CMD as the user PostgreSQL runs as (peer auth on the socket).
as_user() {
  if is_root; then runuser -u "$RUN_USER" -- "$@"; else "$@"; fi
}

newest_pg_bin() {  # the highest PostgreSQL major version installed (Debian layout)
  local d v best="" bestv=0
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] || continue
    v=${d#/usr/lib/postgresql/}; v=${v%%/*}; v=${v%%.*}
    if [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -gt "$bestv" ]; then best=$d bestv=$v; fi
  done
  echo "$best"
}

random_hex() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

node_dir() { echo "$DIR/n$1"; }
node_ini() { echo "$DIR/n$1/pgwarden.ini"; }
node_ip() { echo "$NET.$((10 + $1))"; }
node_pidfile() { echo "$DIR/n$1/pgwarden.pid"; }
node_log() { echo "$DIR/n$1/pgwarden.log"; }

# cmdline_has PID TEXT — the process exists and its command line contains TEXT.
cmdline_has() {
  local c
  c=$( { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null) || return 1
  [[ "$c" == *"$2"* ]]
}

# node_pid I — pid of node I's daemon, if it runs (the pid file may be stale).
node_pid() {
  local pid
  pid=$(cat "$(node_pidfile "$1")" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  cmdline_has "$pid" "$(node_ini "$1")" || return 1
  echo "$pid"
}

# postmaster_pid I — pid of node I's postmaster, if it runs.
postmaster_pid() {
  local pid
  pid=$(head -n1 "$DIR/n$1/data/postmaster.pid" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  cmdline_has "$pid" "$DIR/n$1/data" || return 1
  echo "$pid"
}

# ---- locating DIR and its settings ---------------------------------------------

load_dir() {  # sets DIR (absolute) and, if the cluster exists, its stored settings
  DIR=$(cd "$DIR_ARG" && pwd -P)
  STORED_NET="" STORED_PG_BIN_DIR="" STORED_RUN_USER=""
  if [ -f "$DIR/demo.env" ]; then
    # shellcheck disable=SC1091  # written by this script (write_env)
    . "$DIR/demo.env"
  fi
  NET=${DEMO_NET:-${STORED_NET:-127.0.0}}
  PGWARDEN=${PGWARDEN:-$REPO/build/pgwarden}
  PG_BIN_DIR=${PG_BIN_DIR:-${STORED_PG_BIN_DIR:-$(newest_pg_bin)}}
}

write_env() {
  cat >"$DIR/demo.env" <<EOF
# written by scripts/demo.sh: the settings this cluster was created with
STORED_NET=$NET
STORED_PG_BIN_DIR=$PG_BIN_DIR
STORED_RUN_USER=$RUN_USER
EOF
}

# ---- start -----------------------------------------------------------------------

check_start_settings() {
  [[ "$NET" =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}$ ]] ||
    die "DEMO_NET=$NET: give the first three octets of a loopback block, e.g. 127.0.0 (nodes get .11-.13)"
  if [ -n "$STORED_NET" ] && [ "$STORED_NET" != "$NET" ]; then
    die "$DIR holds a cluster on $STORED_NET.11-13, not $NET: run with DEMO_NET=$STORED_NET, or stop it and remove $DIR"
  fi
  if [ -n "$STORED_RUN_USER" ] && [ "$STORED_RUN_USER" != "$RUN_USER" ]; then
    die "$DIR was created for user $STORED_RUN_USER; run the demo as $( [ "$STORED_RUN_USER" = postgres ] && echo root || echo "$STORED_RUN_USER")"
  fi
  [ -x "$PGWARDEN" ] || die "no pgwarden binary at $PGWARDEN (build it: make -f Makefile.dist, or set PGWARDEN=)"
  [ -x "${PG_BIN_DIR:-/nonexistent}/initdb" ] ||
    die "no PostgreSQL server binaries (initdb) in '${PG_BIN_DIR}' (install postgresql-15, or set PG_BIN_DIR=)"
  [ -x "$PG_BIN_DIR/psql" ] || die "no psql in $PG_BIN_DIR (install postgresql-client)"
  command -v python3 >/dev/null || die "python3 is needed to read the cluster's JSON status (apt-get install python3)"
  if [[ "$DIR" =~ [[:space:]\;\#\'\"] ]]; then
    die "'$DIR' contains spaces, quotes or ;/# — choose another DEMO_DIR"
  fi
  # PostgreSQL's socket lives in the state directory; its path must fit in sockaddr_un.
  local sock="$DIR/n1/state/.s.PGSQL.15432"
  [ ${#sock} -lt 108 ] || die "'$DIR' is too long for PostgreSQL's socket path ($sock); choose a shorter DEMO_DIR"
  if is_root; then
    getent passwd "$RUN_USER" >/dev/null || die "user $RUN_USER does not exist (install postgresql-15: make -f Makefile.dist deps)"
  fi
}

make_dirs() {
  local i
  mkdir -p "$DIR/secrets"
  chmod 755 "$DIR"
  chmod 700 "$DIR/secrets"
  for i in "${NODES[@]}"; do
    mkdir -p "$DIR/n$i/state"
    chmod 700 "$DIR/n$i" "$DIR/n$i/state"
    touch "$(node_log "$i")"
  done
  if is_root; then
    chown "$RUN_USER:" "$DIR/secrets"
    for i in "${NODES[@]}"; do
      chown "$RUN_USER:" "$DIR/n$i" "$DIR/n$i/state" "$(node_log "$i")"
    done
    # The daemons run as $RUN_USER and must reach DIR from /.
    runuser -u "$RUN_USER" -- test -x "$DIR/n1/state" ||
      die "user $RUN_USER cannot reach $DIR (a parent directory is private); choose another DEMO_DIR, e.g. /var/tmp/pgwarden-demo"
  fi
}

# make_secret FILE OWNER — a random secret in FILE (mode 0600), kept if it exists.
make_secret() {
  if [ ! -s "$1" ]; then
    (umask 077 && random_hex >"$1" && echo >>"$1")
  fi
  chmod 600 "$1"
  if is_root; then chown "$2:" "$1"; fi
}

write_config() {  # I
  local i=$1 members="" j
  for j in "${NODES[@]}"; do
    members+="${members:+, }n$j=$(node_ip "$j")"
  done
  local superuser=""
  [ "$RUN_USER" = postgres ] || superuser="superuser = $RUN_USER        ; peer authentication on the socket: the OS user"
  cat >"$(node_ini "$i").tmp" <<EOF
; written by scripts/demo.sh — node n$i of the local demo cluster (see README.md).
; Rewritten at every 'make -f Makefile.dist demo'; examples/local-3node/ has
; the same topology with comments.

[node]
name = n$i
state_dir = $DIR/n$i/state
run_as_user = $RUN_USER

[cluster]
name = $CLUSTER
members = $members

[raft]
port = 5010

[postgresql]
bin_dir = $PG_BIN_DIR
data_dir = $DIR/n$i/data
port = 15432
replication_password_file = $DIR/secrets/replication.pass
$superuser

[postgresql.parameters]
shared_buffers = 32MB
max_connections = 50

[proxy]
port = 5432
readonly_port = 5433
hold_timeout = 10s

[api]
port = 8008
token_file = $DIR/secrets/api.token

[ha]
lease = 3s
EOF
  mv "$(node_ini "$i").tmp" "$(node_ini "$i")"
  chmod 644 "$(node_ini "$i")"
  local out
  if ! out=$("$PGWARDEN" check-config -q -c "$(node_ini "$i")" 2>&1); then
    echo "$out" >&2
    die "the generated $(node_ini "$i") does not pass check-config"
  fi
}

# port_busy IP PORT — something other than our daemons listens on IP:PORT (or on every address).
port_busy() {
  command -v ss >/dev/null || return 1
  ss -Hltn 2>/dev/null | awk -v a="$1:$2" -v p=":$2" '
    { l = $4; if (l == a || l == "0.0.0.0" p || l == "*" p || l == "[::]" p) found = 1 }
    END { exit found ? 0 : 1 }'
}

# check_ports — every port of every node that is not running yet is free, so
# a conflict stops the demo before it starts anything.
check_ports() {
  local i ip port
  for i in "${NODES[@]}"; do
    node_pid "$i" >/dev/null && continue
    ip=$(node_ip "$i")
    for port in "${PORTS[@]}"; do
      if port_busy "$ip" "$port"; then
        die "$ip:$port is already in use (another demo on DEMO_NET=$NET, or a server listening on all addresses?); see: ss -ltnp | grep ':$port'"
      fi
    done
  done
}

start_node() {  # I
  local i=$1 pid ip
  if pid=$(node_pid "$i"); then
    say "n$i is already running (pid $pid)"
    return
  fi
  ip=$(node_ip "$i")
  rm -f "$(node_pidfile "$i")"
  echo "---- $(date -u +%FT%TZ) started by scripts/demo.sh" >>"$(node_log "$i")"
  # Detached: own session (setsid), no terminal, no inherited descriptors, so
  # neither a closing terminal nor a waiting make/ctest pipe is tied to it. The
  # pid is written by the shell that then execs pgwarden, so it is pgwarden's.
  (
    for fd in "/proc/$BASHPID/fd/"*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-"; fi
    done
    cd "$(node_dir "$i")"
    # shellcheck disable=SC2016  # $$ and $@ belong to the inner shell
    exec setsid sh -c 'echo $$ >"$0"; exec "$@"' "$(node_pidfile "$i")" \
      "$PGWARDEN" run -c "$(node_ini "$i")" </dev/null >>"$(node_log "$i")" 2>&1
  ) &
  local deadline=$((SECONDS + 10))
  until pid=$(node_pid "$i"); do
    [ $SECONDS -lt $deadline ] || die "n$i did not start; see $(node_log "$i")"
    sleep 0.1
  done
  say "started n$i on $ip (pid $pid, log $(node_log "$i"))"
}

# any_ini — the config of a running node (ctl needs one to find an API).
any_ini() {
  local i
  for i in "${NODES[@]}"; do
    if node_pid "$i" >/dev/null; then node_ini "$i"; return 0; fi
  done
  return 1
}

# cluster_summary — "PRIMARY DIAG,DIAG" from /cluster: the primary that holds
# the lock and accepts writes ("-" if none), and the active diagnostic codes.
cluster_summary() {
  local ini
  ini=$(any_ini) || return 1
  "$PGWARDEN" ctl -c "$ini" --timeout 3 status --json 2>/dev/null | python3 -c '
import json, sys
try:
    v = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
p = v.get("primary") or ""
ready = p and v.get("ready_epoch") == v.get("epoch")
diags = ",".join(sorted({d.get("code", "?") for d in v.get("diagnostics") or []}))
print((p if ready else "-") + " " + diags)' 2>/dev/null
}

# socket_sql I SQL — SQL on node I's PostgreSQL over its unix socket (peer auth).
socket_sql() {
  (cd "$DIR" && PGCONNECT_TIMEOUT=3 as_user "$PG_BIN_DIR/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
    -h "$DIR/n$1/state" -p 15432 -U "$RUN_USER" -d postgres -c "$2" 2>/dev/null)
}

# proxy_sql IP SQL — SQL through the proxy on IP:5432 with the client password.
proxy_sql() {
  PGPASSWORD=$CLIENT_PASSWORD PGCONNECT_TIMEOUT=3 "$PG_BIN_DIR/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
    -h "$1" -p 5432 -U "$RUN_USER" -d postgres -c "$2" 2>/dev/null
}

# wait_ready — until the primary accepts writes through all three proxies and
# both replicas stream. Streaming is asked of the replicas themselves
# (pg_stat_wal_receiver): pg_basebackup's own WAL stream also shows in the
# primary's pg_stat_replication while a clone is still running.
wait_ready() {
  local deadline=$((SECONDS + ${DEMO_TIMEOUT:-240})) last="" now i p primary_ip streaming proxies summary diags
  PRIMARY=""
  while :; do
    for i in "${NODES[@]}"; do
      if ! node_pid "$i" >/dev/null; then
        tail -n 25 "$(node_log "$i")" >&2 || true
        die "n$i exited; the end of its log is above ($(node_log "$i")); stop the others with: $0 stop $DIR"
      fi
    done
    summary=$(cluster_summary || true)
    p=${summary%% *} diags=${summary#* }
    [ "$p" = - ] && p=""
    streaming=0 proxies=0
    if [ -n "$p" ]; then
      i=${p#n}
      # The client password, over the primary's socket; it replicates to every member.
      if [ "$(socket_sql "$i" "ALTER ROLE \"$RUN_USER\" PASSWORD '$CLIENT_PASSWORD'; SELECT NOT pg_is_in_recovery()" || true)" = t ]; then
        primary_ip=$(node_ip "$i")
        for i in "${NODES[@]}"; do
          [ "n$i" = "$p" ] && continue
          [ "$(socket_sql "$i" "SELECT status FROM pg_stat_wal_receiver" || true)" = streaming ] && streaming=$((streaming + 1))
        done
        # txid_current() assigns a transaction id: it fails anywhere but on a writable primary.
        for i in "${NODES[@]}"; do
          now=$(proxy_sql "$(node_ip "$i")" "SELECT host(inet_server_addr()) || ' ' || (txid_current() > 0)" || true)
          [ "$now" = "$primary_ip true" ] && proxies=$((proxies + 1))
        done
      else
        p=""
      fi
    fi
    now="primary: ${p:-none yet}, replicas streaming: $streaming/2, proxies reaching the primary: $proxies/3"
    [ -z "$diags" ] || now+=", diagnostics: $diags (see: $PGWARDEN ctl -c $(any_ini) list)"
    if [ "$now" != "$last" ]; then say "waiting — $now"; last=$now; fi
    if [ -n "$p" ] && [ "$streaming" -eq 2 ] && [ "$proxies" -eq 3 ]; then
      PRIMARY=$p
      return 0
    fi
    if [ $SECONDS -ge $deadline ]; then
      "$PGWARDEN" ctl -c "$(any_ini)" list >&2 || true
      die "the cluster was not ready within ${DEMO_TIMEOUT:-240}s ($now); logs: $DIR/n*/pgwarden.log; stop it with: $0 stop $DIR"
    fi
    sleep 1
  done
}

print_tour() {
  local p=$PRIMARY pi=${PRIMARY#n} other="" i make_args=""
  for i in "${NODES[@]}"; do [ "n$i" != "$p" ] && other=${other:-n$i}; done
  local oi=${other#n}
  [ "$DIR" = "$REPO/demo-cluster" ] || make_args+=" DEMO_DIR=$DIR"
  [ "$NET" = 127.0.0 ] || make_args+=" DEMO_NET=$NET"
  local ctl
  ctl="$PGWARDEN ctl -c $(node_ini "$oi")"
  cat <<EOF

pgwarden demo cluster '$CLUSTER' is up under $DIR
  n1 $(node_ip 1), n2 $(node_ip 2), n3 $(node_ip 3) — each runs pgwarden and PostgreSQL ($(basename "$(dirname "$PG_BIN_DIR")")) on port 15432
  primary: $p; the other two stream from it. Client password for role '$RUN_USER': $CLIENT_PASSWORD

$("$PGWARDEN" ctl -c "$(node_ini "$oi")" list 2>&1 || true)

Connect through the proxy on port 5432 of ANY node; all three reach the primary:
  PGPASSWORD=$CLIENT_PASSWORD $PG_BIN_DIR/psql -h $(node_ip 1) -p 5432 -U $RUN_USER
  (-h $(node_ip 2) and -h $(node_ip 3) reach the same primary; port 5433 goes to a replica)

Watch the cluster (any node answers):
  watch -n1 $ctl list

Failover: kill the primary's daemon ($p); its PostgreSQL dies with it and,
after the 3 s lease, a replica takes over. Clients reconnect to the same address:
  kill -9 \$(cat $(node_pidfile "$pi"))
  $ctl list
  make -f Makefile.dist demo$make_args     # restarts $p; it rejoins as a replica

Switchover (planned, clean):
  $ctl switchover --to $other

Logs: $DIR/n{1,2,3}/pgwarden.log
Stop everything:  make -f Makefile.dist demo-stop$make_args
EOF
}

cmd_start() {
  [ -z "${DEMO_DIR_MOVED:-}" ] ||
    say "postgres cannot reach $REPO (a private parent directory): the demo cluster lives in $DIR_ARG"
  mkdir -p "$DIR_ARG"
  load_dir
  check_start_settings
  make_dirs
  write_env
  make_secret "$DIR/secrets/replication.pass" "$RUN_USER"
  make_secret "$DIR/secrets/api.token" "$RUN_USER"
  make_secret "$DIR/secrets/client.pass" "$(id -un)"
  CLIENT_PASSWORD=$(head -n1 "$DIR/secrets/client.pass")
  local i
  for i in "${NODES[@]}"; do write_config "$i"; done
  check_ports
  for i in "${NODES[@]}"; do start_node "$i"; done
  wait_ready
  print_tour
  if [ -n "${DEMO_T0:-}" ]; then
    say "from 'make -f Makefile.dist demo' to a working cluster: $(( $(date +%s) - DEMO_T0 )) s (build included)"
  fi
}

# ---- stop ------------------------------------------------------------------------

# descendants PID — PID and every process below it.
descendants() {
  local pid=$1 c
  echo "$pid"
  for c in $(ps -o pid= --ppid "$pid" 2>/dev/null); do descendants "$c"; done
}

# starttime PID — field 22 of /proc/PID/stat (clock ticks after boot).
starttime() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  echo "${20}"
}

# tracked_alive — the tracked processes (pid:starttime in TRACKED) that still exist.
tracked_alive() {
  local k st
  for k in "${TRACKED[@]}"; do
    st=$(starttime "${k%%:*}" || true)
    [ -n "$st" ] && [ "${k#*:}" = "$st" ] && echo "${k%%:*}"
  done
  return 0
}

cmd_stop() {
  if [ ! -d "$DIR_ARG" ]; then
    say "nothing to stop: $DIR_ARG does not exist"
    return 0
  fi
  load_dir
  local i pid p st daemons=() orphans=()
  TRACKED=()
  for i in "${NODES[@]}"; do
    if pid=$(node_pid "$i"); then daemons+=("$pid"); for p in $(descendants "$pid"); do
      st=$(starttime "$p" || true); [ -n "$st" ] && TRACKED+=("$p:$st"); done
    fi
    # A postmaster whose daemon is gone (it normally dies with it: PDEATHSIG).
    if pid=$(postmaster_pid "$i"); then
      local known=0 k
      for k in "${TRACKED[@]}"; do [ "${k%%:*}" = "$pid" ] && known=1; done
      if [ $known = 0 ]; then
        orphans+=("$pid")
        for p in $(descendants "$pid"); do
          st=$(starttime "$p" || true); [ -n "$st" ] && TRACKED+=("$p:$st"); done
      fi
    fi
  done
  if [ ${#TRACKED[@]} -eq 0 ]; then
    say "no demo process is running under $DIR"
    return 0
  fi
  # pgwarden stops its PostgreSQL itself (fast shutdown) and releases the
  # primary lock on SIGTERM; an orphaned postmaster gets SIGINT (fast shutdown).
  [ ${#daemons[@]} -gt 0 ] && { say "stopping pgwarden pids ${daemons[*]}"; kill -TERM "${daemons[@]}" 2>/dev/null || true; }
  [ ${#orphans[@]} -gt 0 ] && { say "stopping orphaned postmasters ${orphans[*]}"; kill -INT "${orphans[@]}" 2>/dev/null || true; }
  local deadline=$((SECONDS + ${DEMO_STOP_TIMEOUT:-60})) left
  while left=$(tracked_alive) && [ -n "$left" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if [ -n "$left" ]; then
    say "still running after ${DEMO_STOP_TIMEOUT:-60}s, sending SIGKILL: $(tr '\n' ' ' <<<"$left")"
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
    deadline=$((SECONDS + 30))
    while left=$(tracked_alive) && [ -n "$left" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    [ -z "$left" ] || die "processes $(tr '\n' ' ' <<<"$left")survived SIGKILL"
  fi
  for i in "${NODES[@]}"; do rm -f "$(node_pidfile "$i")"; done
  say "stopped; the cluster's data stays in $DIR (make -f Makefile.dist demo starts it again; remove the directory to start afresh)"
}

# ---- status -------------------------------------------------------------------------

cmd_status() {
  [ -d "$DIR_ARG" ] || die "$DIR_ARG does not exist"
  load_dir
  local ini
  ini=$(any_ini) || { say "no demo node is running under $DIR"; return 1; }
  "$PGWARDEN" ctl -c "$ini" list
}

case "$CMD" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) usage ;;
esac
