/**
 * Footprint: bundle sizes, the memory a client takes for its default options (Node), the heap of
 * a connected client with two subscriptions in Node (next to MQTT.js), in QuickJS and in
 * duktape, and whether that heap grows over 10,000 messages.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as net from "node:net";
import v8 from "node:v8";
import mqtt from "mqtt";
import { getQuickJS } from "quickjs-emscripten";
import { connect as mcuConnect, NodeTransport } from "../boards/node/index.ts";
import { Client } from "../src/index.ts";
import { nullBoard } from "./alone.ts";
import type { BenchBroker } from "./broker.ts";
import { collect } from "./heap.ts";
import { runInChild } from "./spawn.ts";

const root = new URL("..", import.meta.url).pathname;

export interface BundleSize {
  file: string;
  what: string;
  bytes: number | null;
  gzip: number | null;
}

const BUNDLES = [
  { file: "dist/espruino/mcu-mqtt.js", what: "Espruino, full (ES5)" },
  { file: "dist/espruino/mcu-mqtt-qos0.js", what: "Espruino, QoS 0 only (ES5)" },
  { file: "dist/kaluma/mcu-mqtt.js", what: "Kaluma, full (ES2019)" },
  { file: "dist/kaluma/mcu-mqtt-qos0.js", what: "Kaluma, QoS 0 only (ES2019)" },
  { file: "dist/core/mcu-mqtt-core.es5.js", what: "core, every export (ES5)" },
  { file: "dist/core/mcu-mqtt-core.es2019.js", what: "core, every export (ES2019)" },
];

/** Builds the bundles (`npm run build:bundles`, i.e. rollup) unless told not to, then sizes them. */
export function bundleSizes(build: boolean): BundleSize[] {
  if (build) execFileSync(join(root, "node_modules/.bin/rollup"), ["-c", "--silent"], { cwd: root, stdio: "inherit" });
  return BUNDLES.map((b) => {
    const path = join(root, b.file);
    if (!existsSync(path)) return { file: b.file, what: b.what, bytes: null, gzip: null };
    const text = readFileSync(path);
    return { file: b.file, what: b.what, bytes: text.length, gzip: gzipSync(text, { level: 9 }).length };
  });
}

export interface TypedArrayLine {
  path: string;
  bytes: number;
}

/** Every distinct ArrayBuffer reachable from `root` (not through `skip` properties), by path. */
export function typedArrays(rootObj: object, skip: string[]): TypedArrayLine[] {
  const seenObjects = new Set<object>();
  const seenBuffers = new Set<ArrayBufferLike>();
  const out: TypedArrayLine[] = [];
  const walk = (v: unknown, path: string) => {
    if (v === null || typeof v !== "object") return;
    if (seenObjects.has(v)) return;
    seenObjects.add(v);
    if (ArrayBuffer.isView(v)) {
      if (!seenBuffers.has(v.buffer)) {
        seenBuffers.add(v.buffer);
        out.push({ path, bytes: v.buffer.byteLength });
      }
      return;
    }
    for (const key of Object.keys(v)) {
      if (skip.includes(key)) continue;
      walk((v as Record<string, unknown>)[key], path + "." + key);
    }
  };
  walk(rootObj, "client");
  return out;
}

export interface NodeFootprint {
  /** Typed arrays of a client with default options (the core, on a board that allocates nothing). */
  typed: TypedArrayLine[];
  typedTotal: number;
  /** Per client, over 200 clients built at once: JS heap growth, ArrayBuffer memory growth. */
  constructHeap: number;
  constructArrayBuffers: number;
  /** The Node board's own buffers per transport: staging for writes, and reads. */
  nodeBoardBytes: number;
  /**
   * Connected over TCP with two subscriptions: the first client (with whatever its library sets
   * up once per process), then each of nine more.
   */
  connected: { kind: string; firstHeap: number; firstArrayBuffers: number; heap: number; arrayBuffers: number }[];
}

/** Heap and ArrayBuffer memory in use after two full collections. */
function memoryNow(): { heap: number; arrayBuffers: number } {
  collect();
  collect();
  return { heap: v8.getHeapStatistics().used_heap_size, arrayBuffers: process.memoryUsage().arrayBuffers };
}

/** `nodeFootprint` in a fresh Node process (see spawn.ts). */
export function nodeFootprintInChild(broker: BenchBroker): Promise<NodeFootprint> {
  return runInChild<NodeFootprint>("node-footprint", broker);
}

export async function nodeFootprint(broker: BenchBroker): Promise<NodeFootprint> {
  const probe = new Client({ clientId: "footprint", reconnect: false }, nullBoard().board);
  const typed = typedArrays(probe, ["board", "clock", "events", "listeners"]);
  const typedTotal = typed.reduce((a, t) => a + t.bytes, 0);

  // Build a few first, so what V8 compiles and caches for the constructor is not counted.
  for (let i = 0; i < 20; i++) new Client({ clientId: "footprint-warm-" + i, reconnect: false }, nullBoard().board);
  const n = 200;
  const keep: Client[] = [];
  const before = memoryNow();
  for (let i = 0; i < n; i++) keep.push(new Client({ clientId: "footprint-" + i, reconnect: false }, nullBoard().board));
  const after = memoryNow();
  const constructHeap = (after.heap - before.heap) / n;
  const constructArrayBuffers = (after.arrayBuffers - before.arrayBuffers) / n;
  keep.length = 0;

  const connected: NodeFootprint["connected"] = [];
  const m = 10;
  const subscribeTwo = (c: { subscribe: Function }, resolve: () => void, reject: (e: Error) => void) =>
    c.subscribe("bench/fp/a/#", { qos: 1 }, (e1: Error | null) => {
      if (e1) return reject(e1);
      c.subscribe("bench/fp/b/+", { qos: 2 }, (e2: Error | null) => (e2 ? reject(e2) : resolve()));
    });
  // The first client of each library also pays for what the library builds once per process
  // (MQTT.js: mqtt-packet's cache of encoded numbers); the next nine show the cost of one more.
  const measureKind = async (kind: string, open: (i: number) => Promise<() => Promise<void>>) => {
    const closers: (() => Promise<void>)[] = [];
    // Node's net and DNS code paths warm first: their one-time setup is no client's.
    await new Promise<void>((resolve, reject) => {
      const s = net.connect({ host: broker.host, port: broker.port }, () => {
        s.destroy();
        resolve();
      });
      s.on("error", reject);
    });
    await new Promise((r) => setTimeout(r, 20));
    const base = memoryNow();
    closers.push(await open(0));
    const one = memoryNow();
    for (let i = 1; i < m; i++) closers.push(await open(i));
    const all = memoryNow();
    connected.push({
      kind,
      firstHeap: one.heap - base.heap,
      firstArrayBuffers: one.arrayBuffers - base.arrayBuffers,
      heap: (all.heap - one.heap) / (m - 1),
      arrayBuffers: (all.arrayBuffers - one.arrayBuffers) / (m - 1),
    });
    await Promise.all(closers.map((close) => close()));
  };
  await measureKind("mcu-mqtt", async (i) => {
    const c = mcuConnect({ host: broker.host, port: broker.port, clientId: "bench-fp-mcu-" + process.pid + "-" + i, reconnect: false });
    await new Promise<void>((resolve, reject) => {
      c.on("error", reject);
      c.on("connect", () => subscribeTwo(c, resolve, reject));
    });
    return () => new Promise<void>((r) => c.end(true, () => r()));
  });
  await measureKind("MQTT.js", async (i) => {
    const c = mqtt.connect(broker.url, { clientId: "bench-fp-mqttjs-" + process.pid + "-" + i, reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => {
      c.on("error", reject);
      c.on("connect", () => subscribeTwo(c, resolve, reject));
    });
    return () => new Promise<void>((r) => c.end(true, {}, () => r()));
  });
  return { typed, typedTotal, constructHeap, constructArrayBuffers, nodeBoardBytes: typedArrays(new NodeTransport(), []).reduce((a, t) => a + t.bytes, 0), connected };
}

/**
 * A script that loads a CommonJS bundle as `MQ` (in a scope of its own), then the harness. The
 * engines measure the full client of the core bundle; the QoS 0 board build (src/compact.ts with
 * QOS12 off) is measured on the real interpreters (real-footprint.ts).
 */
function program(bundle: string): string {
  const harness = readFileSync(new URL("./engine-harness.js", import.meta.url), "utf8");
  return (
    "var MQ = (function () { var exports = {}; var module = { exports: exports };\n" +
    "(function (exports, module) {\n" +
    bundle +
    "\n})(exports, module);\nreturn module.exports;\n})();\n" +
    harness
  );
}

export interface EngineFootprint {
  engine: string;
  /** Bytes the client adds to the engine heap: connected, two subscriptions. */
  clientBytes: number | null;
  /** After 1,000 warm-up messages, then after 10,000 more. */
  after1k: number | null;
  after11k: number | null;
  growthPerMessage: number | null;
  messages: number;
  how: string;
  error?: string;
}

interface QuickJSMemory {
  malloc_size: number;
  memory_used_size: number;
  obj_count: number;
  str_count: number;
}

export async function quickjsFootprint(messages: number): Promise<EngineFootprint> {
  const bundle = readFileSync(join(root, "dist/core/mcu-mqtt-core.es2019.js"), "utf8");
  const QuickJS = await getQuickJS();
  const rt = QuickJS.newRuntime();
  const vm = rt.newContext();
  try {
    const run = (code: string): string => {
      const r = vm.evalCode(code, "footprint.js");
      if (r.error) {
        const e = vm.dump(r.error);
        r.error.dispose();
        throw new Error("QuickJS: " + JSON.stringify(e));
      }
      const v = vm.dump(r.value);
      r.value.dispose();
      return String(v);
    };
    const memory = (): QuickJSMemory => {
      const h = rt.computeMemoryUsage();
      try {
        return vm.dump(h) as QuickJSMemory;
      } finally {
        h.dispose();
      }
    };
    run(program(bundle));
    run("H.setup()");
    const base = memory();
    run("H.start()");
    const up = memory();
    run("H.pump(1000)");
    const m1 = memory();
    run("H.pump(" + messages + ")");
    const m2 = memory();
    const status = JSON.parse(run("H.status()"));
    if (status.errors.length > 0 || status.received !== 1000 + messages) {
      throw new Error("QuickJS run: " + JSON.stringify(status));
    }
    return {
      engine: "QuickJS (quickjs-emscripten)",
      clientBytes: up.memory_used_size - base.memory_used_size,
      after1k: m1.memory_used_size,
      after11k: m2.memory_used_size,
      growthPerMessage: (m2.memory_used_size - m1.memory_used_size) / messages,
      messages,
      how: "runtime.computeMemoryUsage().memory_used_size of the whole runtime (bundle and broker included); client bytes: its growth from creating and connecting the client",
    };
  } finally {
    vm.dispose();
    rt.dispose();
  }
}

export function duktapeAvailable(): boolean {
  return spawnSync("duk", ["-e", "print(1)"], { encoding: "utf8" }).status === 0;
}

/**
 * duktape has no heap statistics API. Two measurements stand in: the bytes of the objects the
 * client holds, walked from the client inside duktape with `Duktape.info` (header and property
 * table per object, plus typed-array buffers), and the process's resident set size read from
 * /proc at each step (page-granular, and it includes the broker's garbage before collection).
 */
export async function duktapeFootprint(messages: number): Promise<EngineFootprint> {
  const how = "the objects reachable from the client, summed with Duktape.info (duktape has no heap API)";
  if (!duktapeAvailable()) {
    return { engine: "duktape", clientBytes: null, after1k: null, after11k: null, growthPerMessage: null, messages, how, error: "duk not installed" };
  }
  const bundle = readFileSync(join(root, "dist/core/mcu-mqtt-core.es5.js"), "utf8");
  const dir = mkdtempSync(join(tmpdir(), "mcu-mqtt-bench-duk-"));
  const file = join(dir, "footprint.js");
  const steps =
    "function mark(name, extra) { Duktape.gc(); Duktape.gc(); print('MARK ' + name + ' ' + (extra === undefined ? '' : extra)); var t = Date.now(); while (Date.now() - t < 150) {} }\n" +
    "H.setup(); mark('base');\n" +
    "H.start(); mark('up', H.clientBytes());\n" +
    "H.pump(1000); mark('m1', H.clientBytes());\n" +
    "H.pump(" + messages + "); mark('m2', H.clientBytes());\n" +
    "print('STATUS ' + H.status());\n";
  writeFileSync(file, program(bundle) + "\n" + steps);
  try {
    const marks: Record<string, { rss: number; client: number }> = {};
    let status = "";
    await new Promise<void>((resolve, reject) => {
      const child = spawn("duk", [file], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        let nl: number;
        while ((nl = out.indexOf("\n")) >= 0) {
          const line = out.slice(0, nl);
          out = out.slice(nl + 1);
          const m = /^MARK (\S+) ?(\S*)/.exec(line);
          if (m) {
            let rss = NaN;
            try {
              rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/" + child.pid + "/status", "utf8"))![1]) * 1024;
            } catch {
              // not Linux
            }
            marks[m[1]] = { rss, client: m[2] ? Number(m[2]) : NaN };
          } else if (line.startsWith("STATUS ")) status = line.slice(7);
        }
      });
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error("duk exited " + code + ": " + err))));
    });
    const st = JSON.parse(status || "{}");
    if (!st.errors || st.errors.length > 0 || st.received !== 1000 + messages) throw new Error("duktape run: " + status);
    return {
      engine: "duktape " + duktapeVersion(),
      clientBytes: marks.up.client,
      after1k: marks.m1.client,
      after11k: marks.m2.client,
      growthPerMessage: (marks.m2.client - marks.m1.client) / messages,
      messages,
      how,
      // Resident set sizes, for the record.
      error: undefined,
      ...{ rss: { base: marks.base.rss, up: marks.up.rss, m1: marks.m1.rss, m2: marks.m2.rss } },
    } as EngineFootprint;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function duktapeVersion(): string {
  const r = spawnSync("duk", ["-e", "print(Duktape.version)"], { encoding: "utf8" });
  const v = Number((r.stdout || "").trim());
  if (!v) return "";
  // Duktape.version is major * 10000 + minor * 100 + patch.
  return Math.floor(v / 10000) + "." + (Math.floor(v / 100) % 100) + "." + (v % 100);
}
