#!/usr/bin/env node
// The installed entry point: runs the bundled CLI (built by `npm ci` through the prepare script:
// tsc, then scripts/bundle.mjs).
import { main } from '../dist/bundle/main.js';

process.exitCode = await main(process.argv.slice(2));
