#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what it needs, then type checks,
# lints, checks formatting and generated docs, and runs every Jest test against real Redis processes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec npm run --silent check
