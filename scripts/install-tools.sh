#!/usr/bin/env bash
# Installs the external tools that tests drive (Debian packages and tool virtualenvs).
# Idempotent: it only installs what is missing.
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages, installed without starting their services: a container has no init system,
# and a test machine needs the tools, not the daemons. policy-rc.d answering 101 tells
# invoke-rc.d (which the maintainer scripts call) to leave services alone.
apt_install() {
  local policy=/usr/sbin/policy-rc.d created=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    created=1
  fi
  local status=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq \
    && as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
      install -y -qq --no-install-recommends "$@" </dev/null || status=$?
  if [ -n "$created" ]; then as_root rm -f "$policy"; fi
  return "$status"
}

# promtool (Debian package prometheus): check and unit-test the rendered alerting rules.
if ! command -v promtool >/dev/null 2>&1; then
  echo "install-tools: installing promtool (Debian package prometheus)"
  apt_install prometheus
fi
promtool --version 2>&1 | head -n 1
