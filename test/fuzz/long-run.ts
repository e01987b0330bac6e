/**
 * The long fuzz run: `npm run fuzz [-- seed [count]]` (defaults: seed 1, 1,000,000 inputs).
 * Prints a summary and the first failures, each with the call that reproduces it, and exits
 * non-zero on any failure.
 */
import { runFuzz, summarize } from "./fuzz.ts";

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
if (report.failures > 0) {
  console.log(`\n${report.failures} failures`);
  process.exit(1);
}
console.log("no failures");
