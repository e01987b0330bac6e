/**
 * The benchmark: mcu-mqtt next to MQTT.js and the raw-socket floor.
 *
 *   npm run bench                       (node --expose-gc --import tsx bench/run.ts)
 *   node --expose-gc --import tsx bench/run.ts [--broker mqtt://host:port] [--quick] [--runs N]
 *
 * Starts its own mosquitto (two: one as configured for throughput and garbage, one with
 * TCP_NODELAY for latency) unless --broker is given, measures throughput per QoS, latency,
 * garbage per message and footprint, and writes bench/RESULTS.md and bench/throughput.svg.
 * The method is written out at the end of RESULTS.md.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import type { AloneResult } from "./alone.ts";
import { externalBroker, mosquittoAvailable, startMosquitto, type BenchBroker } from "./broker.ts";
import { latency, throughput, type LatencyResult, type ThroughputResult } from "./flows.ts";
import { bundleSizes, duktapeFootprint, nodeFootprintInChild, quickjsFootprint, type EngineFootprint } from "./footprint.ts";
import { garbageInChild, type GarbageResult, type GarbageSettings } from "./garbage.ts";
import { KINDS, type KindId } from "./kinds.ts";
import { resultsMarkdown, targets, throughputSvg, type BenchResults, type ThroughputCase } from "./report.ts";

export interface BenchOptions {
  /** A broker to use instead of starting mosquitto. */
  brokerUrl?: string;
  runs: number;
  quick: boolean;
  /** Where RESULTS.md and throughput.svg go. */
  outDir: string;
  /** Message counts per throughput case. */
  counts: { qos0: number; qos1: number; qos2: number; big: number };
  bigPayloadBytes: number;
  latency: { ratePerSec: number; durationMs: number; qos: number[] };
  garbage: GarbageSettings;
  /** Messages for the engines' growth check (after a 1,000-message warm-up). */
  engineMessages: number;
  /** Run rollup before sizing the bundles. */
  buildBundles: boolean;
  /** Progress lines (stderr by default). */
  log: (line: string) => void;
}

export function defaultOptions(quick: boolean): BenchOptions {
  const q = quick;
  return {
    runs: 3,
    quick: q,
    outDir: new URL(".", import.meta.url).pathname,
    counts: q ? { qos0: 10000, qos1: 4000, qos2: 2000, big: 1000 } : { qos0: 50000, qos1: 20000, qos2: 10000, big: 5000 },
    bigPayloadBytes: 16 * 1024,
    latency: { ratePerSec: 2000, durationMs: q ? 1000 : 5000, qos: [0, 1] },
    // The warm-up must be long enough for V8 to optimize the hot paths: unoptimized code boxes
    // numbers on the heap, and 2,000 messages measured two to three times the steady state.
    garbage: { warm: 20000, messages: q ? 20000 : 50000, receiveRatePerSec: 25000 },
    engineMessages: 10000,
    buildBundles: true,
    log: (line) => process.stderr.write(line + "\n"),
  };
}

/** Window and batch per case; see the method in RESULTS.md. */
const WINDOW_QOS0 = 10000;
const WINDOW_QOS0_BIG = 64;
const WINDOW_ACKED = 64;
const BATCH = 100;

function rotate<T>(xs: T[], by: number): T[] {
  const k = by % xs.length;
  return xs.slice(k).concat(xs.slice(0, k));
}

function mqttjsVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL("../node_modules/mqtt/package.json", import.meta.url), "utf8")).version;
  } catch {
    return "?";
  }
}

export async function runBench(o: BenchOptions): Promise<BenchResults> {
  const t0 = Date.now();
  const loadStart = os.loadavg()[0];
  const notes: string[] = [];
  let broker: BenchBroker;
  let latencyBroker: BenchBroker;
  if (o.brokerUrl) {
    broker = externalBroker(o.brokerUrl);
    latencyBroker = broker;
  } else {
    if (!mosquittoAvailable()) throw new Error("mosquitto is not installed: install it, or pass --broker mqtt://host:port");
    broker = await startMosquitto();
    latencyBroker = await startMosquitto({ noDelay: true });
  }
  o.log("broker: " + broker.name + " at " + broker.url + (latencyBroker !== broker ? "; latency: " + latencyBroker.name + " at " + latencyBroker.url : ""));
  try {
    o.log("bundles" + (o.buildBundles ? " (building)" : ""));
    const bundles = bundleSizes(o.buildBundles);

    // ---- throughput
    const payload64 = Buffer.alloc(64, 0x5a);
    const payloadBig = Buffer.alloc(o.bigPayloadBytes, 0x5a);
    const cases: ThroughputCase[] = [
      { name: "QoS 0", qos: 0, payloadBytes: 64, count: o.counts.qos0, window: WINDOW_QOS0, batch: BATCH, runs: {} as Record<KindId, ThroughputResult[]> },
      { name: "QoS 1", qos: 1, payloadBytes: 64, count: o.counts.qos1, window: WINDOW_ACKED, batch: BATCH, runs: {} as Record<KindId, ThroughputResult[]> },
      { name: "QoS 2", qos: 2, payloadBytes: 64, count: o.counts.qos2, window: WINDOW_ACKED, batch: BATCH, runs: {} as Record<KindId, ThroughputResult[]> },
      { name: "QoS 0, 16 KB", qos: 0, payloadBytes: o.bigPayloadBytes, count: o.counts.big, window: WINDOW_QOS0_BIG, batch: BATCH, runs: {} as Record<KindId, ThroughputResult[]> },
    ];
    const throughputOn = async (b: BenchBroker, list: ThroughputCase[], label: string) => {
      for (const c of list) for (const k of KINDS) c.runs[k] = [];
      for (let r = -1; r < o.runs; r++) {
        const warm = r < 0;
        for (const c of list) {
          for (const k of rotate(KINDS, Math.max(0, r))) {
            const spec = { topic: "bench/throughput", qos: c.qos, payload: c.payloadBytes > 64 ? payloadBig : payload64, window: c.window, batch: c.batch };
            const count = warm ? Math.max(100, Math.floor(c.count / 5)) : c.count;
            const res = await throughput(k, b, spec, count);
            if (!warm) c.runs[k].push(res);
            o.log(label + (warm ? "warm-up " : "run " + (r + 1) + " ") + c.name + " " + k + ": " + Math.round(res.msgPerSec) + " msg/s");
          }
        }
      }
    };
    await throughputOn(broker, cases, "");
    // The same on the TCP_NODELAY broker, when there is one: there mosquitto runs at a full core
    // and is the ceiling for every kind (see the method).
    let casesNoDelay: ThroughputCase[] = [];
    if (latencyBroker !== broker) {
      casesNoDelay = cases.filter((c) => c.payloadBytes === 64).map((c) => ({ ...c, runs: {} as Record<KindId, ThroughputResult[]> }));
      await throughputOn(latencyBroker, casesNoDelay, "nodelay ");
    }

    // ---- latency
    const lat: BenchResults["latency"] = [];
    for (const qos of o.latency.qos) {
      const entry = { qos, ratePerSec: o.latency.ratePerSec, durationMs: o.latency.durationMs, runs: {} as Record<KindId, LatencyResult[]> };
      for (const k of KINDS) entry.runs[k] = [];
      for (let r = 0; r < o.runs; r++) {
        for (const k of rotate(KINDS, r)) {
          const res = await latency(k, latencyBroker, { topic: "bench/latency", qos, payload: payload64, window: WINDOW_ACKED, batch: BATCH }, o.latency.ratePerSec, o.latency.durationMs);
          entry.runs[k].push(res);
          o.log("latency QoS " + qos + " " + k + ": p50 " + res.p50Ms.toFixed(3) + " ms, p99 " + res.p99Ms.toFixed(3) + " ms");
        }
      }
      lat.push(entry);
    }

    // ---- garbage, each kind in a fresh process (see garbageInChild)
    const garbage: GarbageResult[][] = [];
    const alone: BenchResults["alone"] = [];
    const garbageKinds: (KindId | "loop")[] = ["loop", ...KINDS];
    for (let r = 0; r < o.runs; r++) {
      const byKind = new Map<string, { e2e: GarbageResult[]; alone: AloneResult[] }>();
      for (const k of rotate(garbageKinds, r)) {
        const g = await garbageInChild(k, broker, o.garbage);
        byKind.set(k, g);
        o.log("garbage " + k + ": " + g.e2e.concat([]).map((x) => x.side + " QoS " + x.qos + " " + x.bytesPerMessage.toFixed(1)).join(", ") + (g.alone.length ? "; alone: " + g.alone.map((x) => x.what + " " + x.bytesPerMessage.toFixed(1)).join(", ") : "") + " (B/message)");
      }
      // A fixed order in the tables, whatever order the processes ran in.
      const run: GarbageResult[] = [];
      for (const side of ["publish", "receive"]) for (const k of garbageKinds) for (const x of byKind.get(k)!.e2e) if (x.side === side) run.push(x);
      garbage.push(run);
      alone.push(byKind.get("mcu-mqtt")!.alone.concat(byKind.get("MQTT.js")!.alone));
    }

    // ---- footprint
    o.log("footprint: Node");
    const node = await nodeFootprintInChild(broker);
    const engines: EngineFootprint[] = [];
    o.log("footprint: QuickJS");
    try {
      engines.push(await quickjsFootprint(o.engineMessages));
    } catch (e) {
      engines.push({ engine: "QuickJS", clientBytes: null, after1k: null, after11k: null, growthPerMessage: null, messages: o.engineMessages, how: "", error: (e as Error).message });
    }
    o.log("footprint: duktape");
    try {
      engines.push(await duktapeFootprint(o.engineMessages));
    } catch (e) {
      engines.push({ engine: "duktape", clientBytes: null, after1k: null, after11k: null, growthPerMessage: null, messages: o.engineMessages, how: "", error: (e as Error).message });
    }

    const results: BenchResults = {
      machine: {
        loadStart,
        loadEnd: os.loadavg()[0],
        cpu: os.cpus()[0] ? os.cpus()[0].model.trim() : "?",
        cores: os.cpus().length,
        memoryGiB: os.totalmem() / 1073741824,
        os: os.type() + " " + os.release(),
        node: process.version,
        broker: broker.name,
        latencyBroker: latencyBroker.name,
        mqttjs: mqttjsVersion(),
        date: new Date().toISOString().slice(0, 10),
      },
      runs: o.runs,
      quick: o.quick,
      throughput: cases,
      throughputNoDelay: casesNoDelay,
      latency: lat,
      garbage,
      alone,
      bundles,
      node,
      engines,
      notes,
      elapsedSec: (Date.now() - t0) / 1000,
    };
    writeFileSync(join(o.outDir, "RESULTS.md"), resultsMarkdown(results));
    writeFileSync(join(o.outDir, "throughput.svg"), throughputSvg(results));
    o.log("wrote " + join(o.outDir, "RESULTS.md") + " and throughput.svg in " + Math.round(results.elapsedSec) + " s");
    return results;
  } finally {
    if (latencyBroker !== broker) await latencyBroker.close();
    await broker.close();
  }
}

function parseArgs(argv: string[]): BenchOptions {
  const quick = argv.includes("--quick");
  const o = defaultOptions(quick);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") continue;
    else if (a === "--broker") o.brokerUrl = argv[++i];
    else if (a.startsWith("--broker=")) o.brokerUrl = a.slice(9);
    else if (a === "--runs") o.runs = Number(argv[++i]);
    else if (a.startsWith("--runs=")) o.runs = Number(a.slice(7));
    else if (a === "--no-build") o.buildBundles = false;
    else throw new Error("unknown argument " + a + " (use --broker URL, --quick, --runs N, --no-build)");
  }
  if (!(o.runs >= 1) || o.runs !== Math.floor(o.runs)) throw new Error("--runs needs a positive whole number");
  return o;
}

if (import.meta.url === "file://" + process.argv[1] || process.argv[1]?.endsWith("/bench/run.ts")) {
  const o = parseArgs(process.argv.slice(2));
  if (!(globalThis as { gc?: unknown }).gc) o.log("note: started without --expose-gc; gc() is taken from a new context instead");
  runBench(o).then(
    (r) => {
      for (const t of targets(r)) o.log((t.met ? "met     " : "MISSED  ") + t.what + ": " + t.measured + " (goal " + t.goal + ")");
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
