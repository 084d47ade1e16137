#!/usr/bin/env bash
# scripts/test-stages.sh — what `make -f Makefile.dist test` runs after the
# Release build: the Release ctest, and the sanitizer stage (unit tests and
# simulations under ASan/UBSan, docs/testing.md).
#
# Why the sanitizer tree is built *during* the Release tests: those tests
# are bound by one serial chain (the timing-sensitive HA/fault/demo tests
# hold RESOURCE_LOCK ha_cpu), so one of the two cores sits mostly idle for
# ten minutes, and building the sanitizer tree afterwards added ~6 min to
# every CI run. The build runs at nice 19, so the tests always get the CPU
# first (a niced process gets ~1.5 % of a core the tests want); it only
# fills the idle time. Both stages always run; the exit status is non-zero
# when either failed, and each prints its slowest tests.
#
# usage: test-stages.sh RELEASE_DIR ASAN_DIR JOBS CTEST_JOBS [cmake -D args for the ASan tree...]
set -uo pipefail
rel=${1:?usage: test-stages.sh RELEASE_DIR ASAN_DIR JOBS CTEST_JOBS [ASAN_CMAKE_ARGS...]}
asan=${2:?}
jobs=${3:?}
ctest_jobs=${4:?}
shift 4
src=$(cd "$(dirname "$0")/.." && pwd)
t0=$(date +%s)

cmake -S "$src" -B "$asan" -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g -O1" -DWERROR=ON \
  -DSANITIZE=address,undefined "$@" >/dev/null || { echo "test-stages: configuring $asan failed" >&2; exit 1; }
mkdir -p "$asan"
asan_log="$asan/background-build.log"
set -m  # its own process group, so an interrupted run can stop the whole build
nice -n 19 cmake --build "$asan" -j "$jobs" --target pw_sanitized_suite >"$asan_log" 2>&1 &
asan_pid=$!
set +m
# The build must not outlive an interrupted run.
trap 'kill -- -$asan_pid 2>/dev/null; exit 130' INT TERM

echo "== stage 1: Release tests ($rel; the sanitizer tree builds meanwhile at nice 19, log $asan_log)"
(cd "$rel" && ctest --output-on-failure -j "$ctest_jobs")
rel_rc=$?
"$src/scripts/ctest-times.sh" "$rel"
t1=$(date +%s)

echo "== stage 2: sanitizer build and tests ($asan)"
if ! wait $asan_pid; then
  echo "test-stages: the sanitizer build failed; the end of $asan_log:" >&2
  tail -40 "$asan_log" >&2
  asan_rc=1
else
  t_build=$(date +%s)
  echo "test-stages: sanitizer build finished $((t_build - t1)) s after the Release tests"
  (cd "$asan" && ctest --output-on-failure -j "$ctest_jobs" -L 'unit|sim')
  asan_rc=$?
  "$src/scripts/ctest-times.sh" "$asan"
fi
t2=$(date +%s)
echo "test-stages: Release tests $((t1 - t0)) s (rc $rel_rc), sanitizer stage $((t2 - t1)) s (rc $asan_rc)"
[ "$rel_rc" -eq 0 ] && [ "$asan_rc" -eq 0 ]
