#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what it needs, then type checks,
# lints, checks formatting and generated files, runs the Jest tests (real Redis, promtool, kubectl),
# then the system tests, each against a whole local stack.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
npm run --silent typecheck
npm run --silent lint
npm run --silent format:check
npm run --silent docs:check
unit=$(mktemp)
system=$(mktemp)
status=0
# Unit and integration tests (real Redis, promtool, kubectl) run in parallel; the system tests each
# bring up a whole local stack and inject faults into it, so they run one at a time.
npm test --silent -- --json --outputFile="$unit" --testPathIgnorePatterns '/test/(stack|load)/' || status=$?
npm test --silent -- --json --outputFile="$system" --runInBand test/stack/ test/load/ || status=$?
# One closing line in the plain form CI tools read.
jq -rs '"tests: \(map(.numPassedTests) | add) passed, \(map(.numFailedTests) | add) failed"' "$unit" "$system" 2>/dev/null ||
  echo "tests: no result file"
rm -f "$unit" "$system"
exit "$status"
