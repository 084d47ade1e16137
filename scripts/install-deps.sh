#!/usr/bin/env bash
# Installs pgwarden's build, test and benchmark dependencies from Debian
# packages (chromium: the headless browser test of the /ui status page;
# prometheus: promtool for the alert rules in packaging/monitoring/;
# libnetfilter-queue-dev: the fault harness's NFQUEUE delayer, tests/faults/).
# Idempotent: when everything is present it only runs dpkg-query.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libevent-dev libssl-dev libcurl4-openssl-dev libpq-dev libinih-dev nlohmann-json3-dev catch2 libnetfilter-queue-dev
  postgresql-15 postgresql-client-15 iproute2 iptables openssl procps psmisc
  python3 python3-jinja2 python3-yaml ansible-core
  chromium prometheus
)
# Benchmarks and fuzzing: cheap to install, needed by bench/ and the fuzz ctest.
if [ "${PGWARDEN_MINIMAL_DEPS:-0}" != 1 ]; then
  packages+=(haproxy clang-14 libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: missing packages: ${missing[*]}; run as root or install sudo" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
# haproxy's package starts a system service on :80 we never use; benchmarks run their own.
if printf '%s\n' "${missing[@]}" | grep -q '^haproxy$'; then
  $SUDO systemctl disable --now haproxy >/dev/null 2>&1 || true
fi
# Likewise prometheus's service on :9090: the tests only need promtool.
if printf '%s\n' "${missing[@]}" | grep -q '^prometheus$'; then
  $SUDO systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true
fi
echo "install-deps: done"
