#!/usr/bin/env bash
# Installs the external tools that tests drive (Debian packages and tool virtualenvs).
# Idempotent: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
TOOLS_DIR="${PRODSTACK_TOOLS_DIR:-.tools}"
apt_updated=""

# Debian packages, each installed only when it is not installed yet.
apt_install() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$package")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  if [ -z "$apt_updated" ]; then
    "${sudo[@]}" apt-get update -qq
    apt_updated=yes
  fi
  echo "install-tools: apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# A virtualenv under $TOOLS_DIR for tools whose pins conflict with the project's; rebuilt
# when its requirements file changes.
tool_venv() {
  local name="$1" requirements="$2"
  local venv="$TOOLS_DIR/$name"
  if [ -f "$venv/.requirements" ] && cmp -s "$requirements" "$venv/.requirements"; then
    return 0
  fi
  echo "install-tools: $venv from $requirements"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -r "$requirements"
  cp "$requirements" "$venv/.requirements"
}

# PostgreSQL server and client tools: the backup and restore-check scripts run against a
# throwaway cluster (tests/test_backup_scripts.py).
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  apt_install postgresql
fi
# The AWS CLI and moto's S3 server for the same tests.
tool_venv aws-test scripts/requirements/aws-test.txt

echo "install-tools: done"
