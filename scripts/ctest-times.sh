#!/usr/bin/env bash
# scripts/ctest-times.sh BUILD_DIR [N] — after a ctest run, prints its N
# slowest tests (default 15) and the sum, from ctest's own record of the
# last run (Testing/Temporary/LastTest.log), so a CI log says where its time went.
set -euo pipefail
dir=${1:?usage: ctest-times.sh BUILD_DIR [N]}
n=${2:-15}
log="$dir/Testing/Temporary/LastTest.log"
[ -f "$log" ] || { echo "ctest-times: no $log (did ctest run?)" >&2; exit 0; }
awk -v n="$n" '
  /^[0-9]+\/[0-9]+ Testing: / { name = $3 }
  /^Test time = / { t[name] = $4; total += $4 }
  /^Test Failed/ { failed[name] = 1 }
  END {
    printf "ctest: slowest tests of this run (%s):\n", FILENAME
    cmd = "sort -rn | head -" n
    for (k in t) printf "%10.2f s  %s%s\n", t[k], k, (k in failed ? "  (failed)" : "") | cmd
    close(cmd)
    printf "%10.2f s  total test time (tests ran in parallel; wall time is less)\n", total
  }' "$log"
