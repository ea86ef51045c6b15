// Prints one plain closing line from the JSON reports of vitest and Playwright: "N passed, N failed".
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
const [vitestJson, playwrightJson] = process.argv.slice(2);
if (vitestJson && existsSync(vitestJson) && readFileSync(vitestJson, 'utf8').trim()) {
  const r = JSON.parse(readFileSync(vitestJson, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests + (r.numRuntimeErrorTestSuites || 0);
} else {
  console.log('vitest wrote no report: counted as 1 failed');
  failed += 1;
}
if (playwrightJson && existsSync(playwrightJson) && readFileSync(playwrightJson, 'utf8').trim()) {
  const s = JSON.parse(readFileSync(playwrightJson, 'utf8')).stats ?? {};
  passed += (s.expected ?? 0) + (s.flaky ?? 0);
  failed += s.unexpected ?? 0;
  if ((s.expected ?? 0) + (s.unexpected ?? 0) + (s.flaky ?? 0) === 0) failed += 1;
} else if (playwrightJson) {
  console.log('playwright wrote no report: counted as 1 failed');
  failed += 1;
}
console.log(`${passed} passed, ${failed} failed`);
