#!/usr/bin/env bash
# Installs the external tools the tests drive. Idempotent: only what is missing is installed.
# Debian packages come from apt; Python tools whose pins conflict with the project's get their
# own virtualenv under .tools/.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

# checkov pins old dependencies that conflict with pulumi's: give it its own virtualenv.
CHECKOV_VERSION="3.3.30"
if ! .tools/checkov/bin/checkov --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
  echo "install-tools: checkov $CHECKOV_VERSION into .tools/checkov"
  rm -rf .tools/checkov
  "$PYTHON" -m venv .tools/checkov
  .tools/checkov/bin/python -m pip install --quiet --upgrade pip
  .tools/checkov/bin/python -m pip install --quiet "checkov==$CHECKOV_VERSION"
fi

# libpq (Debian libpq5): the VaultSecrets tests parse the templated database-url with
# PostgreSQL's own connection-string parser (PQconninfoParse).
if ! ldconfig -p 2>/dev/null | grep -q 'libpq\.so\.5'; then
  echo "install-tools: installing libpq5"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libpq5
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {  # apt_install <command> <debian package>
  if command -v "$1" >/dev/null 2>&1; then
    return
  fi
  if [ "$apt_updated" -eq 0 ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  echo "install-tools: installing $2 (for $1)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2"
}

# promtool checks PromQL (the prometheus-adapter rule of the autoscaler, alert rules).
apt_install promtool prometheus
