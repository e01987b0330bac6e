/**
 * The long fuzz run: `npm run fuzz [-- seed [count]]` (defaults: seed 1, 1,000,000 inputs).
 * Two phases with the same seed and count: the codec (decoder and receiver), then the whole
 * session (session-fuzz.ts). Prints a summary and the first failures of each, each with the call
 * that reproduces it, and exits non-zero on any failure.
 */
import { runFuzz, summarize } from "./fuzz.ts";
import { runSessionFuzz, summarizeSessionFuzz } from "./session-fuzz.ts";

const seed = process.argv[2] !== undefined ? Number(process.argv[2]) : 1;
const count = process.argv[3] !== undefined ? Number(process.argv[3]) : 1000000;
if (!Number.isInteger(seed) || !Number.isInteger(count) || count < 1) {
  console.error("usage: node --import tsx test/fuzz/long-run.ts [seed] [count]");
  process.exit(2);
}

const started = Date.now();
const report = runFuzz(seed, count);
const seconds = (Date.now() - started) / 1000;
console.log(summarize(report));
console.log(`${seconds.toFixed(1)} s, ${Math.round(count / seconds)} inputs/s`);
for (const f of report.firstFailures) {
  console.log(`\nFAIL at input ${f.iteration} (reproduce: runFuzz(${seed}, ${f.iteration + 1})): ${f.what}`);
  console.log(`  input ${f.input}`);
  console.log(`  ${f.detail}`);
}

// Phase 2: the session, fed broker traffic after a CONNACK.
const sessionStarted = Date.now();
const sessionReport = runSessionFuzz(seed, count);
const sessionSeconds = (Date.now() - sessionStarted) / 1000;
console.log("\n" + summarizeSessionFuzz(sessionReport));
console.log(`${sessionSeconds.toFixed(1)} s, ${Math.round(count / sessionSeconds)} inputs/s`);
for (const f of sessionReport.firstFailures) {
  console.log(`\nFAIL at session input ${f.iteration} (reproduce: runSessionFuzz(${seed}, ${f.iteration + 1})): ${f.what}`);
  console.log(`  input ${f.input}`);
  console.log(`  session ${f.config}`);
}

const failures = report.failures + sessionReport.failures;
if (failures > 0) {
  console.log(`\n${failures} failures (codec ${report.failures}, session ${sessionReport.failures})`);
  process.exit(1);
}
console.log("no failures");
