#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's own test runner, TypeScript loaded through tsx.
// Extra arguments narrow the run to files whose path contains one of them.
//
// Programs that tests start as child processes are built here, once, before any test runs, so
// that no child compiles TypeScript as it starts (about 1.5 s each through tsx, much more on a
// busy machine): `npm run build` makes dist/node, whose cli/mcu-mqtt.js is the mcu-mqtt command.
// The tests run a copy of it (MCU_MQTT_TEST_BUILD): test/package rebuilds dist/node while other
// files run, and a child loading a file that tsc is rewriting would see it half written.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;

function findTests(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) findTests(path, out);
    else if (name.endsWith(".test.ts")) out.push(relative(root, path));
  }
  return out;
}

/** Test files that start the built programs as child processes. */
function needsBuild(file) {
  return file.startsWith(join("test", "cli") + "/");
}

const filters = process.argv.slice(2);
let files = findTests(join(root, "test"), []);
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}

const env = Object.assign({}, process.env);
let buildCopy = "";
if (files.some(needsBuild)) {
  const built = spawnSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" });
  if (built.status !== 0) {
    console.error("npm run build failed: the tests that start the mcu-mqtt command need it");
    process.exit(1);
  }
  buildCopy = mkdtempSync(join(tmpdir(), "mcu-mqtt-test-build-"));
  cpSync(join(root, "dist", "node"), join(buildCopy, "node"), { recursive: true });
  // dist/node is ES modules because the package says so; the copy needs the same word.
  writeFileSync(join(buildCopy, "package.json"), '{ "type": "module" }\n');
  env.MCU_MQTT_TEST_BUILD = join(buildCopy, "node");
}

const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", ...files], {
  cwd: root,
  stdio: "inherit",
  env,
});
if (buildCopy) rmSync(buildCopy, { recursive: true, force: true });
process.exit(result.status === null ? 1 : result.status);
