#!/usr/bin/env bash
# Installs the external tools the tests drive. Idempotent: only what is missing is installed.
# Debian packages come from apt; Python tools whose pins conflict with the project's get their
# own virtualenv under .tools/.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

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

missing=()
# promtool (Debian package prometheus): check and unit-test the alerting rules and the
# prometheus-adapter rule.
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# libpq (Debian libpq5): the VaultSecrets tests parse the templated database-url with
# PostgreSQL's own connection-string parser (PQconninfoParse).
ldconfig -p 2>/dev/null | grep -q 'libpq\.so\.5' || missing+=(libpq5)
# PostgreSQL (Debian postgresql: server and client tools): backup.sh and restore-check.sh run
# against a throwaway cluster that the tests start themselves (tests/test_backup_scripts.py).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
# openssl (the CLI) and redis-server (Debian's is built with TLS): the TLS tests make a test
# CA and server certificates, start PostgreSQL with SSL and a throwaway Redis on TLS, and connect
# with the rendered URLs (tests/test_tls_verification.py).
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-tools: installing ${missing[*]}"
  apt_install "${missing[@]}"
fi

# checkov pins old dependencies that conflict with pulumi's: give it its own virtualenv.
CHECKOV_VERSION="3.3.30"
if ! .tools/checkov/bin/checkov --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
  echo "install-tools: checkov $CHECKOV_VERSION into .tools/checkov"
  rm -rf .tools/checkov
  "$PYTHON" -m venv .tools/checkov
  .tools/checkov/bin/python -m pip install --quiet --upgrade pip
  .tools/checkov/bin/python -m pip install --quiet "checkov==$CHECKOV_VERSION"
fi

# The AWS CLI and moto's S3 server for the backup script tests, in their own virtualenv:
# awscli pins botocore exactly and holds docutils and rsa back. Rebuilt when the pins change.
AWS_TEST_REQUIREMENTS=scripts/requirements/aws-test.txt
if ! cmp -s "$AWS_TEST_REQUIREMENTS" .tools/aws-test/.requirements 2>/dev/null; then
  echo "install-tools: awscli and moto into .tools/aws-test"
  rm -rf .tools/aws-test
  "$PYTHON" -m venv .tools/aws-test
  .tools/aws-test/bin/python -m pip install --quiet --upgrade pip
  .tools/aws-test/bin/python -m pip install --quiet -r "$AWS_TEST_REQUIREMENTS"
  cp "$AWS_TEST_REQUIREMENTS" .tools/aws-test/.requirements
fi
