#!/usr/bin/env bash
# Installs the external tools that tests drive (Debian packages and tool virtualenvs).
# Idempotent: it only installs what is missing.
set -euo pipefail

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# libpq (Debian libpq5): the VaultSecrets tests parse the templated database-url with
# PostgreSQL's own connection-string parser.
if ! ldconfig -p 2>/dev/null | grep -q 'libpq\.so\.5'; then
  echo "install-tools: installing libpq5"
  apt_install libpq5
fi

echo "install-tools: done"
