#!/usr/bin/env bash
# Installs the external tools that tests drive (Debian packages and tool virtualenvs).
# Idempotent: it only installs what is missing.
set -euo pipefail

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
