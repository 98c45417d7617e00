#!/usr/bin/env bash
# Stops the local stack gracefully (idempotent). State, logs and data stay in .stack/ for the next up.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
node stack/cli.ts down
