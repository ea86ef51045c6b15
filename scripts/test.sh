#!/bin/sh
# Install everything, then lint, typecheck and run every test: vitest (unit and
# integration) and Playwright (the dashboard in Debian's Chromium).
set -eu
cd "$(dirname "$0")/.."
sh scripts/install.sh
npm run --silent lint
npm run --silent typecheck
vitest_json=$(mktemp)
playwright_json=$(mktemp)
trap 'rm -f "$vitest_json" "$playwright_json"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$vitest_json" || status=$?
PLAYWRIGHT_JSON_OUTPUT_NAME="$playwright_json" npx playwright test || status=$?
# one plain closing line: N passed, N failed
node scripts/test-summary.mjs "$vitest_json" "$playwright_json" || true
exit "$status"
