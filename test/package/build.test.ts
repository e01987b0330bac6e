/**
 * The package as users get it: `npm run build` compiles the Node entry and the command, and what
 * package.json's `exports` and `bin` name works.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { build } from "esbuild";

const root = new URL("../..", import.meta.url).pathname;

test("npm run build makes the entry in exports and the bin, and both work", { timeout: 120000 }, async () => {
  execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "pipe" });
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const entry = join(root, pkg.exports["."].import);
  const mod = await import(pathToFileURL(entry).href);
  assert.equal(typeof mod.connect, "function");
  assert.equal(typeof mod.createClient, "function");
  assert.equal(typeof mod.encodePacket, "function");
  const types = readFileSync(join(root, pkg.exports["."].types), "utf8");
  assert.ok(types.length > 0, "type declarations exist");
  const help = execFileSync(process.execPath, [join(root, pkg.bin["mcu-mqtt"]), "--help"], { encoding: "utf8" });
  assert.match(help, /mcu-mqtt pub/);
  assert.match(help, /mcu-mqtt sub/);
});

test("the board bundles are reachable through package.json exports and load as CommonJS", () => {
  execFileSync("npx", ["rollup", "-c", "--silent"], { cwd: root, stdio: "pipe" });
  // The package requiring itself by name goes through its own `exports`, as a bundler would.
  const requireHere = createRequire(join(root, "package.json"));
  const files: { [path: string]: string } = {
    "mcu-mqtt/espruino": "dist/espruino/mcu-mqtt.js",
    "mcu-mqtt/espruino/qos0": "dist/espruino/mcu-mqtt-qos0.js",
    "mcu-mqtt/kaluma": "dist/kaluma/mcu-mqtt.js",
    "mcu-mqtt/kaluma/qos0": "dist/kaluma/mcu-mqtt-qos0.js",
  };
  for (const path of Object.keys(files)) {
    assert.equal(requireHere.resolve(path), join(root, files[path]), path);
    const mod = requireHere(path);
    assert.equal(typeof mod.connect, "function", path + " exports connect");
    assert.equal(typeof mod.joinWifi, "function", path + " exports joinWifi");
    assert.equal(typeof mod[path.includes("espruino") ? "espruinoBoard" : "kalumaBoard"], "function", path + " exports its board");
    // One compact client: neither the core's Client nor its codec is in any board bundle.
    assert.equal(mod.Client, undefined, path);
    assert.equal(mod.encodePacket, undefined, path);
  }
});

test("a Kaluma app's require('mcu-mqtt') resolves, through a bundler's browser condition, to the Kaluma bundle", async () => {
  execFileSync("npx", ["rollup", "-c", "--silent"], { cwd: root, stdio: "pipe" });
  // Kaluma's CLI bundles an app with webpack's default (web) target: `require` plus `browser`
  // conditions. esbuild's browser platform resolves package exports the same way.
  const dir = mkdtempSync(join(tmpdir(), "mcu-mqtt-kaluma-app-"));
  try {
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(root, join(dir, "node_modules", "mcu-mqtt"), "dir");
    writeFileSync(join(dir, "app.js"), 'module.exports = [require("mcu-mqtt"), require("mcu-mqtt/qos0")];\n');
    const out = await build({
      entryPoints: [join(dir, "app.js")],
      bundle: true,
      write: false,
      platform: "browser",
      format: "cjs",
      external: ["net", "wifi", "pico_cyw43"],
      logLevel: "silent",
    });
    const code = out.outputFiles[0].text;
    const module = { exports: {} as unknown };
    new Function("module", "exports", "require", code)(module, module.exports, (name: string) => {
      throw new Error("the board's module " + name + " is required only when connecting");
    });
    const [full, qos0] = module.exports as Record<string, unknown>[];
    assert.equal(typeof full.kalumaBoard, "function", "the full Kaluma bundle");
    assert.equal(typeof full.connect, "function");
    assert.equal(typeof qos0.kalumaBoard, "function", "the QoS 0 Kaluma bundle");
    assert.equal(typeof qos0.connect, "function");
    // Two builds of the same client, two modules.
    assert.notEqual(full.connect, qos0.connect);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
