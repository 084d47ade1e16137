#!/usr/bin/env bash
# tests/integration/packaging_test.sh CPACK BINARY_DIR VERSION
#
# The Debian package, built and installed on this machine: cpack -G DEB from
# this build tree (what `make -f Makefile.dist deb` does), the package's
# metadata (its Depends cover every library the binary is linked against) and
# contents, `dpkg -i`, the installed /usr/bin/pgwarden and unit file, then
# `dpkg --purge`: the machine is left as it was found (also on failure).
# Needs root (dpkg -i); exits 77 (skipped, not passed) otherwise, or when a
# pgwarden package or /usr/bin/pgwarden is already there (never replaced).
set -euo pipefail
CPACK=$1 BIN=$2 VERSION=$3
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: dpkg -i needs root"
  exit 77
fi
if dpkg-query -W -f='${Status}' pgwarden 2>/dev/null | grep -q "install ok installed"; then
  echo "SKIP: a pgwarden package is installed on this machine ($(dpkg-query -W -f='${Version}' pgwarden)); not replacing it"
  exit 77
fi
if [ -e /usr/bin/pgwarden ]; then
  echo "SKIP: /usr/bin/pgwarden exists and belongs to no package; not overwriting it"
  exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pgwarden-pkg-XXXXXX")
INSTALLED=0
cleanup() {
  local rc=$?
  if [ $INSTALLED = 1 ]; then dpkg --purge pgwarden >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

# ---- build ---------------------------------------------------------------------
(cd "$BIN" && "$CPACK" -G DEB -B "$WORK" >"$WORK/cpack.log" 2>&1) || { cat "$WORK/cpack.log"; echo "FAIL: cpack"; exit 1; }
DEB=$(find "$WORK" -maxdepth 1 -name "pgwarden_${VERSION}_*.deb" | head -n1)
[ -n "$DEB" ] || { cat "$WORK/cpack.log"; ls "$WORK"; echo "FAIL: no pgwarden_${VERSION}_*.deb"; exit 1; }
ok "built $(basename "$DEB")"

# ---- metadata --------------------------------------------------------------------
[ "$(dpkg-deb -f "$DEB" Package)" = pgwarden ] || fail "Package is '$(dpkg-deb -f "$DEB" Package)'"
[ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ] || fail "Version is '$(dpkg-deb -f "$DEB" Version)'"
[ "$(dpkg-deb -f "$DEB" Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture is '$(dpkg-deb -f "$DEB" Architecture)'"
depends=$(dpkg-deb -f "$DEB" Depends)
# Every library the binary needs directly must come from a package in Depends.
for lib in $(readelf -d "$BIN/pgwarden" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  # (awk reads to the end: an early exit would SIGPIPE ldconfig, and under
  # pipefail + set -e that ends the script without a word)
  path=$(ldconfig -p | awk -v l="$lib" '$1 == l && !found { print $NF; found = 1 }')
  [ -n "$path" ] || { fail "cannot locate $lib"; continue; }
  pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | awk -F: 'NR == 1 { print $1 }') ||
    pkg=$(dpkg -S "$path" 2>/dev/null | awk -F: 'NR == 1 { print $1 }') || true
  [ -n "$pkg" ] || { fail "no Debian package owns $path ($lib)"; continue; }
  if ! tr ',' '\n' <<<"$depends" | sed 's/(.*)//; s/ //g' | grep -qx "$pkg"; then
    fail "the binary needs $lib from package $pkg, which Depends ($depends) lacks"
  fi
done
ok "Depends: $depends"

# ---- contents ----------------------------------------------------------------------
dpkg-deb -c "$DEB" | awk '{ print $NF }' >"$WORK/contents"
for f in ./usr/bin/pgwarden ./usr/lib/systemd/system/pgwarden.service ./usr/share/man/man1/pgwarden.1.gz \
         ./usr/share/doc/pgwarden/README.md ./usr/share/doc/pgwarden/examples/local-3node/n1.ini \
         ./usr/share/doc/pgwarden/examples/seed/db-postgres-01.ini; do
  grep -qx -- "$f" "$WORK/contents" || fail "the package lacks $f"
done
mkdir "$WORK/x"
dpkg-deb -x "$DEB" "$WORK/x"
unit=$WORK/x/usr/lib/systemd/system/pgwarden.service
for want in "User=postgres" "Restart=on-failure" "KillMode=mixed" "TimeoutStopSec=" \
            "ExecStart=/usr/bin/pgwarden run -c /etc/pgwarden/pgwarden.ini"; do
  grep -q "^$want" "$unit" || fail "the unit lacks '$want'"
done
# The man page documents every command of --help and of `ctl --help`.
man=$(zcat "$WORK/x/usr/share/man/man1/pgwarden.1.gz")
cmds=$("$BIN/pgwarden" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
ctl_cmds=$("$BIN/pgwarden" ctl --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
if [ -z "$cmds" ] || [ -z "$ctl_cmds" ]; then fail "could not read the command lists from --help"; fi
for c in $cmds $ctl_cmds; do
  grep -qF -- "${c//-/\\-}" <<<"$man" || fail "the man page does not mention '$c'"
done
if command -v man >/dev/null; then
  warnings=$(MANWIDTH=80 man --warnings -l "$WORK/x/usr/share/man/man1/pgwarden.1.gz" 2>&1 >/dev/null || true)
  [ -z "$warnings" ] || fail "man reports: $warnings"
fi
ok "contents: binary, unit, man page, docs, examples"

# ---- install, use, remove --------------------------------------------------------------
dpkg -i "$DEB" >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log"; INSTALLED=1; fail "dpkg -i"; exit 1; }
INSTALLED=1
got=$(/usr/bin/pgwarden --version) || fail "/usr/bin/pgwarden --version exited non-zero"
[ "$got" = "pgwarden $VERSION" ] || fail "/usr/bin/pgwarden --version printed '$got'"
[ -f /usr/lib/systemd/system/pgwarden.service ] || fail "no /usr/lib/systemd/system/pgwarden.service after dpkg -i"
dpkg -S /usr/lib/systemd/system/pgwarden.service 2>/dev/null | grep -q '^pgwarden:' || fail "the unit is not owned by the package"
if command -v systemd-analyze >/dev/null; then
  # Offline check of the unit: syntax, values, that ExecStart is executable.
  # Its exit status also reflects environment trouble (the man: link needs
  # man-db), so judge by what it says about our unit.
  out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify /usr/lib/systemd/system/pgwarden.service 2>&1 || true)
  bad=$(grep -F "pgwarden.service" <<<"$out" | grep -vF "Command 'man pgwarden(1)'" || true)
  [ -z "$bad" ] || fail "systemd-analyze verify: $bad"
fi
# The installed binary reads the installed examples; their secret files do not exist here.
rc=0
err=$(/usr/bin/pgwarden check-config -c /usr/share/doc/pgwarden/examples/local-3node/n1.ini 2>&1) || rc=$?
{ [ $rc = 2 ] && grep -q "replication.pass" <<<"$err"; } || fail "check-config of the installed example: exit $rc, $err"
if command -v man >/dev/null && [ -x /usr/bin/mandb ]; then
  man -w pgwarden >/dev/null 2>&1 || fail "man -w pgwarden does not find the page"
fi
ok "installed: $got, unit /usr/lib/systemd/system/pgwarden.service"

dpkg --purge pgwarden >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log"; fail "dpkg --purge"; }
INSTALLED=0
for f in /usr/bin/pgwarden /usr/lib/systemd/system/pgwarden.service /usr/share/doc/pgwarden /usr/share/man/man1/pgwarden.1.gz; do
  [ ! -e "$f" ] || fail "$f is still there after dpkg --purge"
done
if dpkg-query -W -f='${Status}' pgwarden 2>/dev/null | grep -q installed; then
  fail "dpkg still lists pgwarden: $(dpkg-query -W -f='${Status}' pgwarden)"
fi
ok "removed: nothing of the package is left"

[ $failures = 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo PASS
