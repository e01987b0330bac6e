/**
 * The board bundles on the real interpreters (`../shared/tools`, see its README): Espruino builds
 * with a board's JsVars and Kaluma 1.2.1 with the Pico W's heap, both 32-bit programs run under
 * qemu user-mode emulation here. Shared by `npm run footprint` (bench/real-footprint.ts) and the
 * bounded tests in test/runtimes/.
 *
 * Espruino scripts run through the tools' run.sh (which stops them after a time limit); a bundle
 * is put into Storage with storage-write.mjs first, or sent as the IDE sends a module
 * (`Modules.addCached`). Kaluma programs run through kaluma-bridge.mjs, which relays the Pico W
 * network driver to real TCP on 127.0.0.1. Every broker is a mosquitto on a free loopback port.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { transformSync } from "esbuild";
import { join, resolve } from "node:path";
import { executable } from "../test/helpers/brokers.ts";

export const ROOT = resolve(new URL("..", import.meta.url).pathname);
/** Where the interpreters live: MCU_MQTT_TOOLS, else ../shared/tools beside the repository. */
export const TOOLS = resolve(process.env.MCU_MQTT_TOOLS || join(ROOT, "..", "shared", "tools"));
export const ESPRUINO_DIR = join(TOOLS, "espruino");
export const KALUMA_DIR = join(TOOLS, "kaluma");
export const RUN_SH = join(ESPRUINO_DIR, "run.sh");
export const STORAGE_WRITE = join(ESPRUINO_DIR, "storage-write.mjs");
export const BRIDGE = join(KALUMA_DIR, "kaluma-bridge.mjs");

export const ESPRUINO_BUNDLES = {
  full: { name: "mcu-mqtt", file: join(ROOT, "dist/espruino/mcu-mqtt.js"), qos: 1 },
  qos0: { name: "mcu-mqtt", file: join(ROOT, "dist/espruino/mcu-mqtt-qos0.js"), qos: 0 },
} as const;
export const KALUMA_BUNDLES = {
  full: { name: "mcu-mqtt", file: join(ROOT, "dist/kaluma/mcu-mqtt.js"), qos: 1 },
  qos0: { name: "mcu-mqtt", file: join(ROOT, "dist/kaluma/mcu-mqtt-qos0.js"), qos: 0 },
} as const;
export type Build = keyof typeof ESPRUINO_BUNDLES;

function onPath(cmd: string): string {
  for (const dir of (process.env.PATH || "").split(":")) {
    if (dir && executable(join(dir, cmd))) return join(dir, cmd);
  }
  return "";
}

/**
 * Why the real runtimes cannot run here, or "" when they can: the tools folder with both
 * interpreters, qemu-i386 (this kernel runs no 32-bit programs by itself: checked by running one)
 * and the board bundles.
 */
export function runtimesMissing(): string {
  const need = [RUN_SH, STORAGE_WRITE, join(ESPRUINO_DIR, "bin/espruino-1700"), join(ESPRUINO_DIR, "bin/espruino-5100"), BRIDGE, join(KALUMA_DIR, "kaluma-linux-180")];
  for (const p of need) if (!existsSync(p)) return "real runtimes not found: no " + p + " (set MCU_MQTT_TOOLS to the tools folder)";
  const probe = spawnSync(join(ESPRUINO_DIR, "bin/espruino-1700"), ["-h"], { stdio: "ignore", timeout: 10000 });
  const runsNatively = !probe.error && probe.status !== 126;
  if (!runsNatively && !onPath("qemu-i386-static") && !onPath("qemu-i386")) {
    return "real runtimes need qemu-i386 to run 32-bit programs here (apt-get install qemu-user-static libc6-i386)";
  }
  for (const b of [...Object.values(ESPRUINO_BUNDLES), ...Object.values(KALUMA_BUNDLES)]) {
    if (!existsSync(b.file)) return "bundle missing: " + b.file + " (npm run build:bundles)";
  }
  return "";
}

export interface Run {
  code: number;
  out: string;
  err: string;
  ms: number;
}

/** Runs a command, resolves on its exit (the tools bound their own time; `hardMs` is a last resort). */
export function runCommand(cmd: string, args: string[], options: { cwd?: string; hardMs?: number } = {}): Promise<Run> {
  return new Promise((resolvePromise) => {
    const start = Date.now();
    const child = spawn(cmd, args, { cwd: options.cwd || ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString("latin1")));
    child.stderr.on("data", (d: Buffer) => (err += d.toString("latin1")));
    const hard = setTimeout(() => child.kill("SIGKILL"), options.hardMs || 180000);
    child.on("close", (code, signal) => {
      clearTimeout(hard);
      resolvePromise({ code: code === null ? 128 + (signal === "SIGKILL" ? 9 : 15) : code, out, err, ms: Date.now() - start });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Espruino

/** A temp dir; removed by `cleanup()`. */
export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a script on an Espruino build (`espruino-1700`, `espruino-5100`...) in working dir `cwd`. */
export function runEspruino(binary: string, script: string, cwd: string, seconds: number): Promise<Run> {
  const file = join(cwd, "app-" + process.pid + "-" + Math.floor(Math.random() * 1e9) + ".js");
  writeFileSync(file, script, "latin1");
  return runCommand("bash", [RUN_SH, "-b", binary, "-t", String(seconds), "-C", cwd, file], { cwd, hardMs: (seconds + 20) * 1000 }).then((r) => {
    rmSync(file, { force: true });
    return r;
  });
}

/**
 * A Storage image (`espruino.flash`) holding `file` as `name`, written once per bundle by the
 * tools' storage-write.mjs on espruino-8190; `storageDir()` copies it into a fresh dir per run.
 */
const storageImages = new Map<string, string>();
export async function storageImage(name: string, file: string): Promise<string> {
  const key = name + "\0" + file;
  const cached = storageImages.get(key);
  if (cached && existsSync(cached)) return cached;
  const dir = mkdtempSync(join(tmpdir(), "mcu-mqtt-storage-"));
  const w = spawnSync(process.execPath, [STORAGE_WRITE, name, file], { encoding: "latin1" });
  if (w.status !== 0) throw new Error("storage-write.mjs failed: " + w.stderr);
  const r = await runEspruino("espruino-8190", w.stdout, dir, 60);
  if (r.code !== 0 || !/STORED (\d+) of \1/.test(r.out)) throw new Error("writing " + file + " to Storage failed: " + r.out + r.err);
  const image = join(dir, "espruino.flash");
  storageImages.set(key, image);
  return image;
}

/** A fresh working dir whose Storage holds the given images' files (one image: a copy of it). */
export function storageDir(image: string): { dir: string; cleanup(): void } {
  const t = tempDir("mcu-mqtt-esp-");
  copyFileSync(image, join(t.dir, "espruino.flash"));
  return t;
}

/** The text the Espruino IDE sends for a module: the file inside `Modules.addCached`. */
export function addCachedText(name: string, file: string): string {
  return "Modules.addCached(" + JSON.stringify(name) + ", function () {\n" + readFileSync(file, "latin1") + "\n});\n";
}

export interface EspruinoScenario {
  /** The module name the sketch requires. */
  name: string;
  port: number;
  clientId: string;
  /** QoS of the subscriptions and the publishes. */
  qos: 0 | 1;
  /** Messages to itself, one at a time (publish, wait for it, publish the next). */
  messages: number;
  /** Message counts at which to print the memory in use (after the message's handler ran). */
  marks: number[];
  /** Reference: Espruino's own MQTT module's API instead of mcu-mqtt's. */
  reference?: boolean;
  /**
   * Bytes of one QoS 0 payload published after the messages, on `rt/<clientId>/big` (a topic the
   * sketch does not subscribe to: the reader is elsewhere); the sketch ends once it is out.
   */
  bigPayload?: number;
}

/**
 * A sketch in plain ES5 (nothing hoisted: every function defined before use) that prints one line
 * per step: `MEM start N`, `MEM require N`, `MEM subscribed N`, `MEM at-K N`, `TIME S`,
 * `RESULT ok`; errors as `ERROR ...`, failures as `RESULT fail ...` (exit status 1).
 */
export function espruinoSketch(s: EspruinoScenario): string {
  const topic = "rt/" + s.clientId + "/a";
  const other = JSON.stringify("rt/" + s.clientId + "/b/#");
  // Every function and variable of the sketch exists before `MEM start`: the sketch is sent as
  // text, so its functions' source sits in RAM; counted from there, the figures are the module's
  // and the client's alone (plus the listeners it holds).
  const lines = [
    "var M = function () { return process.memory().usage; };",
    "var mqtt, c, N = " + s.messages + ", MARKS = " + JSON.stringify(s.marks) + ", n = 0, t1 = 0, finished = false, started = false, kick, guard;",
    "var TOPIC = " + JSON.stringify(topic) + ";",
    "var fail = function (why) { if (finished) return; finished = true; print('RESULT fail ' + why); process.exit(1); };",
  ];
  let connect: string;
  let listen: string;
  if (s.reference) {
    connect = "c = mqtt.connect({ host: '127.0.0.1', port: " + s.port + ", client_id: " + JSON.stringify(s.clientId) + ", keep_alive: 60 });";
    listen = "c.on('error', onError); c.on('message', onMessage); c.on('connected', start);";
    lines.push(
      "var send = function () { c.publish(TOPIC, 'm' + n, 0); };",
      "var done = function () { finished = true; if (guard !== undefined) clearTimeout(guard); print('RESULT ok'); c.disconnect(); setTimeout(function () { process.exit(0); }, 200); };",
      // This module's CONNACK check reads past the packet (charCodeAt(3) of a 2-byte body) and
      // reports "Connection refused" on an accepted connection; the socket stays up and works, so
      // the sketch starts on that error as on 'connected'.
      "var start = function () {",
      "  if (started) return; started = true;",
      "  c.subscribe(TOPIC, { qos: 0 });",
      "  c.subscribe(" + other + ", { qos: 0 });",
      "  print('MEM subscribed ' + M());",
      "  t1 = getTime();",
      // No SUBACK callback in that module: send the first message until it comes back.
      "  send(); kick = setInterval(function () { if (n === 0) send(); }, 500);",
      "};",
      "var onError = function (e) { print('ERROR ' + e); start(); };",
      "var onMessage = function (t, p) {",
      "  if (p !== 'm' + n) return;",
      "  if (n === 0) { clearInterval(kick); kick = undefined; }",
      "  n++;",
      "  if (n === 1) print('FIRST ' + t + ' ' + p);",
      "  if (MARKS.indexOf(n) >= 0) print('MEM at-' + n + ' ' + M());",
      "  if (n === N) { print('TIME ' + (getTime() - t1)); done(); } else send();",
      "};",
    );
  } else {
    const opts = "{ qos: " + s.qos + " }";
    connect = "c = mqtt.connect({ host: '127.0.0.1', port: " + s.port + ", clientId: " + JSON.stringify(s.clientId) + ", keepalive: 60 });";
    listen = "c.on('error', onError); c.on('message', onMessage); c.on('connect', onConnect);";
    // What follows the messages. The big payload's code is there only when asked for: the sketch's
    // own functions count in what is left to it.
    const finish = s.bigPayload ? "sendBig()" : "done()";
    lines.push(
      "var onPublished = function (err) { if (err) fail('publish: ' + (err.message || err)); };",
      "var send = function () { c.publish(TOPIC, 'm' + n, " + opts + ", onPublished); };",
      "var done = function () { finished = true; if (guard !== undefined) clearTimeout(guard); c.end(function () { print('RESULT ok'); process.exit(0); }); };",
    );
    if (s.bigPayload) {
      lines.push(
        "var sentBig = function () { print('BIG sent'); done(); };",
        // Bytes 0..255 over and over: what the reader checks. Written in slices as the link drains.
        "var sendBig = function () {",
        // One buffer of the reading's size: on a board a string built up to 16 KB costs twice that.
        "  var b = new Uint8Array(" + s.bigPayload + "); for (var i = 0; i < b.length; i++) b[i] = i & 255;",
        "  var taken = c.publish(" + JSON.stringify("rt/" + s.clientId + "/big") + ", b, { qos: 0 }, function (err) { if (err) fail('big publish: ' + (err.message || err)); });",
        "  b = undefined;",
        "  if (taken) sentBig(); else c.on('drain', sentBig);",
        "};",
      );
    }
    lines.push(
      "var onError = function (e) { print('ERROR ' + (e && e.message ? e.message : e)); };",
      "var onMessage = function (t, p) {",
      "  n++;",
      "  if (n === 1) print('FIRST ' + t + ' ' + E.toString(p));",
      "  if (MARKS.indexOf(n) >= 0) print('MEM at-' + n + ' ' + M());",
      "  if (n === N) { print('TIME ' + (getTime() - t1)); " + finish + "; } else send();",
      "};",
      "var onSecond = function (err) {",
      "  if (err) return fail('subscribe: ' + (err.message || err));",
      "  print('MEM subscribed ' + M());",
      "  t1 = getTime();",
      "  if (N > 0) send(); else " + finish + ";",
      "};",
      "var onFirst = function (err) {",
      "  if (err) return fail('subscribe: ' + (err.message || err));",
      "  c.subscribe(" + other + ", " + opts + ", onSecond);",
      "};",
      "var onConnect = function () { c.subscribe(TOPIC, " + opts + ", onFirst); };",
    );
  }
  lines.push(
    "var onStall = function () { guard = undefined; fail('no progress, ' + n + ' messages'); };",
    "guard = setTimeout(onStall, 600000);",
    "print('MEM start ' + M() + ' ' + process.memory().total);",
    "mqtt = require(" + JSON.stringify(s.name) + ");",
    "print('MEM require ' + M());",
    connect,
    listen,
  );
  // Minified as the Espruino tools can send a sketch, so that its own text weighs little.
  return transformSync(lines.join("\n") + "\n", { minify: true, target: "es5", logLevel: "silent" }).code;
}

export interface EspruinoOutcome {
  ok: boolean;
  /** `MEM <label> N` lines. */
  mem: Record<string, number>;
  total: number;
  seconds: number | null;
  /** Out of memory reported by the interpreter. */
  oom: boolean;
  first: string;
  why: string;
  run: Run;
}

const OOM = /Out of Memory|MEMORY|not enough memory|Memory busy|LOW_MEMORY/i;

export function parseEspruino(run: Run): EspruinoOutcome {
  const mem: Record<string, number> = {};
  let total = 0;
  let seconds: number | null = null;
  let first = "";
  for (const line of run.out.split("\n")) {
    const m = /^MEM (\S+) (\d+)(?: (\d+))?/.exec(line);
    if (m) {
      mem[m[1]] = +m[2];
      if (m[3]) total = +m[3];
    }
    const t = /^TIME ([\d.]+)/.exec(line);
    if (t) seconds = +t[1];
    const f = /^FIRST (.*)$/.exec(line);
    if (f) first = f[1];
  }
  const ok = run.code === 0 && /^RESULT ok/m.test(run.out);
  const oom = OOM.test(run.out);
  let why = "";
  if (!ok) {
    const fail = /^RESULT fail (.*)$/m.exec(run.out);
    const uncaught = /Uncaught.*$/m.exec(run.out);
    why = oom ? "out of memory" : fail ? fail[1] : uncaught ? uncaught[0] : run.code === 124 ? "time limit hit" : "exit " + run.code;
  }
  return { ok, mem, total, seconds, oom, first, why, run };
}

// ---------------------------------------------------------------------------------------------
// Kaluma

/** Runs a program on Kaluma through the bridge; `bundle` is given as `require("mcu-mqtt")`. */
export function runKaluma(program: string, options: { bundle?: string; port?: number; seconds?: number; extra?: string[] }): Promise<Run> {
  const t = tempDir("mcu-mqtt-kaluma-");
  const file = join(t.dir, "program.js");
  writeFileSync(file, program);
  const args = [BRIDGE, "--program", file, "--timeout", String(options.seconds || 60)];
  if (options.bundle) args.push("--bundle", options.bundle, "--name", "mcu-mqtt");
  if (options.port) args.push("--port", String(options.port));
  if (options.extra) args.push(...options.extra);
  return runCommand(process.execPath, args, { hardMs: ((options.seconds || 60) + 30) * 1000 }).then((r) => {
    t.cleanup();
    return r;
  });
}

export interface KalumaScenario {
  port: number;
  clientId: string;
  qos: 0 | 1;
  messages: number;
  /** Bytes of one QoS 0 payload sent to itself after the messages (0: none). */
  bigPayload: number;
  /**
   * Also print the live heap at each step (`KALUMA_LIVE`): it forces a garbage collection, which
   * moves the peak, so a run that measures peaks leaves it off.
   */
  live?: boolean;
}

/**
 * The live heap: what is in use once garbage is collected. Kaluma exposes no `gc()`, and its
 * `heapUsed` counts garbage until a collection, which runs only when an allocation finds the
 * collector's limit passed. So buffers of LIVE_PROBE bytes are made and dropped until one of them
 * made the heap shrink (a collection ran); what is in use then, less that buffer, is live.
 */
export const KALUMA_LIVE = [
  "var LIVE_PROBE = 24000, liveProbe = function (n) { var a = new Uint8Array(n); a[0] = 1; return 0; };",
  "var liveHeap = function () { var before = process.memoryUsage().heapUsed; for (var i = 0; i < 12; i++) { liveProbe(LIVE_PROBE); var after = process.memoryUsage().heapUsed; if (after < before + LIVE_PROBE / 2) return after - LIVE_PROBE; before = after; } return -1; };",
].join("\n");

/**
 * A Kaluma program (ES2019, strict) printing `HEAP <label> used peak [live]` at the start, after
 * require, after connected + subscribed, after the messages, when the big payload arrived (live
 * runs only) and after it went round; `RESULT ok` at the end.
 */
export function kalumaProgram(s: KalumaScenario): string {
  const topic = "rt/" + s.clientId + "/a";
  const opts = "{ qos: " + s.qos + " }";
  return [
    s.live ? KALUMA_LIVE : "var liveHeap = null;",
    "var H = function (label) { var m = process.memoryUsage(); console.log('HEAP ' + label + ' ' + m.heapUsed + ' ' + m.heapPeak + (liveHeap ? ' ' + liveHeap() : '')); };",
    "H('start');",
    "var mqtt = require('mcu-mqtt');",
    "H('require');",
    "var N = " + s.messages + ", BIG = " + s.bigPayload + ", n = 0, t1 = 0, finished = false, big = null, bigSeen = false;",
    "var TOPIC = " + JSON.stringify(topic) + ", BIGTOPIC = " + JSON.stringify("rt/" + s.clientId + "/b/big") + ";",
    "var fail = function (why) { if (finished) return; finished = true; console.log('RESULT fail ' + why); process.exit(1); };",
    "var guard = setTimeout(function () { fail('no progress, ' + n + ' messages'); }, 300000);",
    "var c = mqtt.connect({ host: '127.0.0.1', port: " + s.port + ", clientId: " + JSON.stringify(s.clientId) + ", keepalive: 60 });",
    "var send = function () { c.publish(TOPIC, 'm' + n, " + opts + ", function (err) { if (err) fail('publish: ' + (err.message || err)); }); };",
    "var done = function () { finished = true; clearTimeout(guard); c.end(function () { console.log('RESULT ok'); process.exit(0); }); };",
    "var sendBig = function () {",
    "  big = new Uint8Array(BIG); for (var i = 0; i < BIG; i++) big[i] = (i * 7) & 255;",
    "  H('big-built');",
    "  c.publish(BIGTOPIC, big, { qos: 0 }, function (err) { if (err) { console.log('BIG refused ' + (err.message || err)); big = null; done(); } });",
    "};",
    "c.on('error', function (e) { console.log('ERROR ' + (e && e.message ? e.message : e)); });",
    "c.on('message', function (t, p) {",
    "  if (t === BIGTOPIC) {",
    "    if (bigSeen) return; bigSeen = true;",
    "    if (liveHeap) H('big-in');",
    "    var same = p.length === BIG; for (var i = 0; same && i < BIG; i++) if (p[i] !== ((i * 7) & 255)) same = false;",
    "    console.log('BIG ' + (same ? 'ok' : 'corrupt') + ' ' + p.length);",
    "    big = null; H('big'); done(); return;",
    "  }",
    "  n++;",
    "  if (n === N) { H('messages'); console.log('TIME ' + (millis() - t1)); if (BIG > 0) sendBig(); else done(); } else send();",
    "});",
    "c.on('connect', function () {",
    "  c.subscribe(TOPIC, " + opts + ", function (err) {",
    "    if (err) return fail('subscribe: ' + (err.message || err));",
    "    c.subscribe(" + JSON.stringify("rt/" + s.clientId + "/b/#") + ", " + opts + ", function (err2) {",
    "      if (err2) return fail('subscribe: ' + (err2.message || err2));",
    "      H('subscribed');",
    "      t1 = millis();",
    "      if (N > 0) send(); else if (BIG > 0) sendBig(); else done();",
    "    });",
    "  });",
    "});",
  ].join("\n") + "\n";
}

export interface KalumaOutcome {
  ok: boolean;
  heap: Record<string, { used: number; peak: number; live?: number }>;
  big: string;
  why: string;
  run: Run;
}

export function parseKaluma(run: Run): KalumaOutcome {
  const heap: Record<string, { used: number; peak: number; live?: number }> = {};
  let big = "";
  for (const line of run.out.split("\n")) {
    const m = /^HEAP (\S+) (\d+) (\d+)(?: (\d+))?/.exec(line);
    if (m) heap[m[1]] = m[4] ? { used: +m[2], peak: +m[3], live: +m[4] } : { used: +m[2], peak: +m[3] };
    const b = /^BIG (.*)$/.exec(line);
    if (b) big = b[1];
  }
  const ok = run.code === 0 && /^RESULT ok/m.test(run.out);
  let why = "";
  if (!ok) {
    const fail = /^RESULT fail (.*)$/m.exec(run.out);
    why = fail ? fail[1] : /out of memory|Out of memory/i.test(run.out + run.err) ? "out of memory" : run.code === 124 ? "time limit hit" : "exit " + run.code + " " + (run.out + run.err).trim().split("\n").slice(-3).join(" | ");
  }
  return { ok, heap, big, why, run };
}

/** Makes a dir (and parents). */
export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
