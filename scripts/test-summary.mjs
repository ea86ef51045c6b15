// Prints one plain closing line from vitest's JSON report: "N passed, N failed".
import { readFileSync } from 'node:fs';

const r = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const failed = r.numFailedTests + (r.numRuntimeErrorTestSuites || 0);
console.log(`${r.numPassedTests} passed, ${failed} failed`);
