#!/usr/bin/env bash
# Installs the Debian packages the test suite and the benchmark drive for real: Django under
# gunicorn, nginx and Caddy (side-by-side behaviour and benchmarks), wrk, and Chromium for
# browser tests, certutil (libnss3-tools) to give a test browser its own trust store,
# pebble (Let's Encrypt's ACME test server) for the ACME tests, and systemd for
# `systemd-analyze verify` of contrib/portico.service (it reads the unit file offline; systemd
# need not be running). Does nothing when they are all there already.
set -euo pipefail

PACKAGES=(gunicorn python3-django nginx caddy wrk chromium libnss3-tools pebble systemd)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing test dependencies: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "These Debian packages are needed and I am not root: ${missing[*]}" >&2
    echo "Run: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
