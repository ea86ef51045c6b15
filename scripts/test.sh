#!/bin/sh
# Install everything, then lint, typecheck and run every test.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install.sh
npm run --silent lint
npm run --silent typecheck
results=$(mktemp)
trap 'rm -f "$results"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" || status=$?
# one plain closing line: N passed, N failed
node scripts/test-summary.mjs "$results" || true
exit "$status"
