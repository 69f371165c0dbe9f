#!/usr/bin/env bash
# Installs what `npm run bench` drives besides node: nginx and Caddy (the peers, and nginx as
# the origin), wrk (HTTP/1.1 load) and h2load from nghttp2-client (HTTP/2 load, scenario h2).
# Does nothing when they are all there already.
set -euo pipefail

PACKAGES=(nginx caddy wrk nghttp2-client)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing benchmark dependencies: ${missing[*]}" >&2
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
