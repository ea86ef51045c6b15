#!/bin/sh
# Install everything, then lint, typecheck and run every test.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install.sh
npm run --silent lint
npm run --silent typecheck
npm test
