#!/usr/bin/env bash
# Installs the external tools that tests drive (Debian packages and tool virtualenvs).
# Idempotent: it only installs what is missing.
set -euo pipefail
echo "install-tools: nothing beyond the Python virtualenv is needed yet"
