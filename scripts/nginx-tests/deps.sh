#!/usr/bin/env bash
# Installs what `npm run nginx-tests` needs beyond the test suite's own packages
# (scripts/ensure-test-deps.sh): Perl's TLS client for the suite's ssl*/h2_ssl* files, and the
# dynamic modules Debian builds nginx with. Debian's `nginx -V` lists them as
# `--with-...=dynamic`, so Test::Nginx writes `load_module` lines for them into every test
# config: without the module packages Debian's nginx would refuse every file.
# Does nothing when they are all there already.
set -euo pipefail

PACKAGES=(nginx prove libio-socket-ssl-perl libnet-ssleay-perl
  libnginx-mod-http-geoip libnginx-mod-http-image-filter libnginx-mod-http-perl
  libnginx-mod-http-xslt-filter libnginx-mod-mail libnginx-mod-stream libnginx-mod-stream-geoip)
missing=()
for pkg in "${PACKAGES[@]}"; do
  [ "$pkg" = prove ] && { command -v prove >/dev/null || missing+=(perl); continue; }
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing nginx-tests dependencies: ${missing[*]}" >&2
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
