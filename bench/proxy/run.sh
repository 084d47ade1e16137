#!/usr/bin/env bash
# bench/proxy/run.sh — pgwarden's proxy vs direct PostgreSQL vs HAProxy
# (mode tcp), in one invocation with the targets interleaved so that noise
# hits all of them alike. Figures: pgbench -S TPS at 1/8/32/128 clients,
# pgbench -S -C (connection per transaction), COPY throughput, and RSS per
# idle session (10,000 sessions). Beside each TPS figure: the proxy's CPU
# time per transaction (utime+stime from /proc/<pid>/stat).
#
# The machine is shared and noisy, so every figure is the median of ROUNDS
# short runs, each round running direct, pgwarden and HAProxy back to back.
# The script drops to the postgres user keeping CAP_SYS_NICE (as the
# packaged service does) so the proxy threads can take their nice -5.
#
# Usage (as root or the postgres user): bench/proxy/run.sh
#        bench/proxy/run.sh --daemon [daemon.py options]
#   --daemon: the real daemon instead of the proxy class — a 3-node pgwarden
#   cluster, pgbench through the primary node's and a replica node's 5432,
#   beside direct PostgreSQL and HAProxy (bench/proxy/daemon.py says more).
# Environment: BUILD (build dir, default build-bench), DURATION (s per run,
# default 4), ROUNDS (default 5), IDLE_N (default 9900: the proxy needs two fds per
# session and this machine's hard limit is 20,000), COPY_MB (500),
# THREADS (proxy threads, default 1).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$SRC/build-bench}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
DURATION=${DURATION:-4}
ROUNDS=${ROUNDS:-5}
IDLE_N=${IDLE_N:-9900}
COPY_MB=${COPY_MB:-500}
THREADS=${THREADS:-1}
if [ "${1:-}" = --daemon ]; then
  shift
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPW_TESTS=OFF >/dev/null
  cmake --build "$BUILD" -j "${JOBS:-2}" --target pgwarden >/dev/null
  exec python3 "$SRC/bench/proxy/daemon.py" --build "$BUILD" "$@"
fi
PG_IP=127.0.6.50 PW_IP=127.0.6.51 HA_IP=127.0.6.52 SINK_IP=127.0.6.53 PORT=6432 IDLE_PORT=6433

if [ "$(id -u)" -eq 0 ]; then
  ulimit -n "$(ulimit -Hn)"
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPW_TESTS=OFF >/dev/null
  cmake --build "$BUILD" -j2 --target proxy_bench >/dev/null
  # setpriv, unlike runuser, keeps the raised fd limit (no PAM session).
  chmod o+rx "$SRC" "$BUILD" "$BUILD/bench" 2>/dev/null || true
  exec setpriv --reuid=postgres --regid=postgres --init-groups --inh-caps=+sys_nice --ambient-caps=+sys_nice env HOME=/tmp BUILD="$BUILD" PG_BIN="$PG_BIN" DURATION="$DURATION" ROUNDS="$ROUNDS" \
    IDLE_N="$IDLE_N" COPY_MB="$COPY_MB" THREADS="$THREADS" PW_BENCH_BUILT=1 PATH="$PATH" "$0" "$@"
fi
if [ -z "${PW_BENCH_BUILT:-}" ]; then
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPW_TESTS=OFF >/dev/null
  cmake --build "$BUILD" -j2 --target proxy_bench >/dev/null
fi
ulimit -n "$(ulimit -Hn)"
BENCH_BIN=$BUILD/bench/proxy_bench
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pw-proxy-bench-XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$PG_BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM

# ---- PostgreSQL, pgwarden's proxy, HAProxy, the idle-session sink --------
"$PG_BIN/initdb" -D "$WORK/pg" -A trust -U postgres >/dev/null
cat >>"$WORK/pg/postgresql.conf" <<CONF
listen_addresses = '$PG_IP'
port = $PORT
unix_socket_directories = '$WORK'
max_connections = 300
shared_buffers = 256MB
fsync = off
synchronous_commit = off
CONF
"$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w start >/dev/null
"$PG_BIN/pgbench" -q -i -s 5 -h $PG_IP -p $PORT postgres >/dev/null 2>&1

"$BENCH_BIN" proxy --listen $PW_IP:$PORT --backend $PG_IP:$PORT --threads "$THREADS" &
PW_PID=$!; PIDS+=($PW_PID)
"$BENCH_BIN" sink --listen $SINK_IP:$IDLE_PORT --count-file "$WORK/sink.count" &
PIDS+=($!)
"$BENCH_BIN" proxy --listen $PW_IP:$IDLE_PORT --backend $SINK_IP:$IDLE_PORT --threads "$THREADS" &
PW_IDLE_PID=$!; PIDS+=($PW_IDLE_PID)
cat >"$WORK/haproxy.cfg" <<CONF
global
  maxconn 9990
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
listen pg
  bind $HA_IP:$PORT
  server pg $PG_IP:$PORT
listen idle
  bind $HA_IP:$IDLE_PORT
  server sink $SINK_IP:$IDLE_PORT
CONF
haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
HA_PID=$!; PIDS+=($HA_PID)
for hp in $PW_IP $HA_IP; do
  for _ in $(seq 100); do "$PG_BIN/pg_isready" -q -h $hp -p $PORT && break; sleep 0.1; done
done

host_of() { case $1 in direct) echo $PG_IP ;; pgwarden) echo $PW_IP ;; haproxy) echo $HA_IP ;; esac; }
pid_of() { case $1 in pgwarden) echo $PW_PID ;; haproxy) echo $HA_PID ;; *) echo "" ;; esac; }
cpu_ticks() { [ -n "$1" ] && awk '{print $14 + $15}' "/proc/$1/stat" || echo 0; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
TCK=$(getconf CLK_TCK)
calc() { awk "BEGIN { printf \"%.6f\", $* }"; }
declare -A VAL CPU TX

# pgbench run: adds TPS and the proxy's CPU ticks / transactions to the sums.
run_pgbench() {  # target test clients extra...
  local t=$1 test=$2 c=$3; shift 3
  local j=$(( c > 1 ? 2 : 1 )) pid; pid=$(pid_of "$t")
  local c0; c0=$(cpu_ticks "$pid")
  local out; out=$("$PG_BIN/pgbench" -n -S -T "$DURATION" -c "$c" -j "$j" "$@" -h "$(host_of "$t")" -p $PORT postgres 2>&1)
  local c1; c1=$(cpu_ticks "$pid")
  local tps; tps=$(echo "$out" | awk '/^tps = / {print $3; exit}')
  local n; n=$(echo "$out" | awk -F': ' '/number of transactions actually processed/ {split($2, a, "/"); print a[1]}')
  VAL[$t,$test]="${VAL[$t,$test]:-} $tps"
  CPU[$t,$test]=$(( ${CPU[$t,$test]:-0} + c1 - c0 ))
  TX[$t,$test]=$(( ${TX[$t,$test]:-0} + n ))
  printf '  %-9s %-10s tps=%10.1f\n' "$t" "$test" "$tps"
}

run_copy() {  # target
  local t=$1 rows=$(( COPY_MB * 1000 )) pid; pid=$(pid_of "$t")
  local c0; c0=$(cpu_ticks "$pid")
  local s; s=$(date +%s.%N)
  "$PG_BIN/psql" -X -q -h "$(host_of "$t")" -p $PORT postgres \
    -c "COPY (SELECT repeat('x', 999) FROM generate_series(1, $rows)) TO STDOUT" >/dev/null
  local e; e=$(date +%s.%N)
  local c1; c1=$(cpu_ticks "$pid")
  local mbs; mbs=$(calc "$COPY_MB / ($e - $s)")
  VAL[$t,copy]="${VAL[$t,copy]:-} $mbs"
  CPU[$t,copy]=$(( ${CPU[$t,copy]:-0} + c1 - c0 ))
  TX[$t,copy]=$(( ${TX[$t,copy]:-0} + COPY_MB ))
  printf '  %-9s %-10s MB/s=%8.1f\n' "$t" copy "$mbs"
}

wait_count() {  # file target
  for _ in $(seq 1200); do
    [ -f "$1" ] && [ "$(cat "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "timeout waiting for $1 >= $2" >&2; return 1
}

run_idle() {  # target pid
  local t=$1 pid=$2 ip; [ "$t" = pgwarden ] && ip=$PW_IP || ip=$HA_IP
  local base; base=$(cat "$WORK/sink.count")
  local r0; r0=$(rss_kb "$pid")
  rm -f "$WORK/idle.count"
  "$BENCH_BIN" idle --connect $ip:$IDLE_PORT --n "$IDLE_N" --count-file "$WORK/idle.count" &
  local ipid=$!
  wait_count "$WORK/idle.count" "$IDLE_N"
  wait_count "$WORK/sink.count" $(( base + IDLE_N ))
  sleep 1
  local r1; r1=$(rss_kb "$pid")
  kill $ipid; wait $ipid 2>/dev/null || true
  local per; per=$(( (r1 - r0) * 1024 / IDLE_N ))
  VAL[$t,idle]=$per
  printf '  %-9s %-10s bytes/session=%d (RSS %d -> %d KiB)\n' "$t" idle "$per" "$r0" "$r1"
}

TARGETS="direct pgwarden haproxy"
echo "pgwarden proxy benchmark: $(nproc) cores, duration ${DURATION}s x $ROUNDS rounds, proxy threads=$THREADS"
for c in 1 8 32 128; do
  for round in $(seq "$ROUNDS"); do
    for t in $TARGETS; do run_pgbench "$t" "S$c" "$c"; done
  done
done
for round in $(seq "$ROUNDS"); do
  for t in $TARGETS; do run_pgbench "$t" C8 8 -C; done
done
for round in $(seq $(( (ROUNDS + 1) / 2 ))); do
  for t in $TARGETS; do run_copy "$t"; done
done
echo "idle sessions ($IDLE_N)"
run_idle pgwarden $PW_IDLE_PID
run_idle haproxy $HA_PID

# ---- table -----------------------------------------------------------------
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for k in "${!VAL[@]}"; do [[ $k == *,idle ]] || VAL[$k]=$(echo "${VAL[$k]}" | median); done
ratio() { if [ -n "$2" ] && [ "$(awk "BEGIN { print ($2 > 0) }")" = 1 ]; then printf '%.2f' "$(calc "$1 / $2")"; else echo "-"; fi; }
us_per() {  # target test
  local tx=${TX[$1,$2]:-0}; [ "$tx" -gt 0 ] || { echo "-"; return; }
  printf '%.1f' "$(calc "${CPU[$1,$2]:-0} * 1000000 / $TCK / $tx")"
}
echo
echo "Medians of $ROUNDS runs of ${DURATION}s (COPY: $(( (ROUNDS + 1) / 2 )) runs); CPU = proxy process utime+stime per transaction (per MB for COPY), all runs."
echo "| test | direct | pgwarden | HAProxy | pgwarden/direct | HAProxy/direct | pgwarden/HAProxy | pgwarden CPU | HAProxy CPU |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for test in S1 S8 S32 S128 C8 copy; do
  case $test in
    S*) name="pgbench -S, ${test#S} clients (TPS)"; unit="µs/txn" ;;
    C8) name="pgbench -S -C, 8 clients (TPS)"; unit="µs/txn" ;;
    copy) name="COPY ${COPY_MB} MB out (MB/s)"; unit="ms/MB" ;;
  esac
  d=${VAL[direct,$test]} p=${VAL[pgwarden,$test]} h=${VAL[haproxy,$test]}
  if [ $test = copy ]; then
    pc=$(printf '%.2f' "$(calc "${CPU[pgwarden,copy]} * 1000 / $TCK / ${TX[pgwarden,copy]}")")
    hc=$(printf '%.2f' "$(calc "${CPU[haproxy,copy]} * 1000 / $TCK / ${TX[haproxy,copy]}")")
  else
    pc=$(us_per pgwarden $test) hc=$(us_per haproxy $test)
  fi
  printf '| %s | %.0f | %.0f | %.0f | %s | %s | %s | %s %s | %s %s |\n' "$name" "$d" "$p" "$h" \
    "$(ratio "$p" "$d")" "$(ratio "$h" "$d")" "$(ratio "$p" "$h")" "$pc" "$unit" "$hc" "$unit"
done
p=${VAL[pgwarden,idle]} h=${VAL[haproxy,idle]}
printf '| RSS per idle session, %d sessions (bytes) | - | %d | %d | - | - | %s | | |\n' "$IDLE_N" "$p" "$h" "$(ratio "$p" "$h")"
