/**
 * Garbage per message over real sockets, in a steady state (after a warm-up), counted with
 * HeapMeter (see heap.ts):
 *
 * - per published message: the kind publishes to a topic nobody subscribes to; QoS 0 at 50,000
 *   messages/s (a 1 ms timer publishes what is due), QoS 1 with a window of 64 acknowledged
 *   publishes as in the throughput runs. The window covers the publishes and every socket write
 *   they cause. "loop" runs the same loop with a publish that does nothing: the bench's own share.
 * - per received message: a feeder in another process (feeder.ts) publishes at a fixed rate, so
 *   this process holds only the subscriber. The window runs from the warm-up's last message to
 *   the last measured one.
 */
import { fork, type ChildProcess } from "node:child_process";
import { runInChild } from "./spawn.ts";
import { performance } from "node:perf_hooks";
import type { BenchBroker } from "./broker.ts";
import { HeapMeter } from "./heap.ts";
import { makePublisher, makeSubscriber, type KindId, type Publisher, type RunSpec } from "./kinds.ts";
import type { FeedOrder } from "./feeder.ts";
import { mcuAloneRuns, mqttjsAloneRuns, type AloneResult } from "./alone.ts";

export interface GarbageResult {
  kind: KindId | "loop";
  side: "publish" | "receive";
  qos: number;
  messages: number;
  bytesPerMessage: number;
  collections: number;
  /** Receive side: socket chunks the measured messages came in (Node's cost is per chunk). */
  chunks?: number;
}

const PAYLOAD = Buffer.alloc(64, 7);
/** Messages per second for the QoS 0 publish measurement. */
const PUBLISH_RATE = 50000;

function spec(topic: string, qos: number): RunSpec {
  return { topic, qos, payload: PAYLOAD, window: 64, batch: 100 };
}

/** The first errors and how many there were in all. */
export function summarize(errors: string[]): string {
  return errors.slice(0, 3).join("; ") + (errors.length > 3 ? "; and " + (errors.length - 3) + " more" : "");
}

export async function publishGarbage(
  kind: KindId | "loop",
  broker: BenchBroker,
  qos: number,
  warm: number,
  n: number,
): Promise<GarbageResult> {
  const s = spec("bench/garbage/nobody", qos);
  let acked = 0;
  let sent = 0;
  let target = 0;
  let phaseDone: () => void = () => {};
  let pub: Publisher;
  const onAck = () => {
    acked++;
    if (sent < target) {
      sent++;
      pub.publish(null);
    }
    if (acked === target) phaseDone();
  };
  if (kind === "loop") pub = { publish: () => {}, flush: () => {}, errors: [], close: async () => {} };
  else pub = await makePublisher(kind, broker, s, onAck);
  const p = pub;
  const phase = (count: number) =>
    new Promise<void>((resolve) => {
      target += count;
      phaseDone = resolve;
      if (qos === 0) {
        // Paced, not as fast as possible: with nobody reading the messages back there is no
        // end-to-end window, and a socket over its high-water mark would fill mcu-mqtt's outbox
        // (and MQTT.js's stream buffer). A 1 ms timer publishes every message that is due.
        const startMs = performance.now();
        const startSent = sent;
        const pump = () => {
          const due = Math.min(target, startSent + Math.floor(((performance.now() - startMs) * PUBLISH_RATE) / 1000) + s.batch);
          while (sent < due) {
            p.publish(null);
            sent++;
          }
          p.flush();
          // One more turn after the last batch, so its socket write falls inside the window.
          if (sent < target) setTimeout(pump, 1);
          else setImmediate(resolve);
        };
        pump();
      } else {
        const first = Math.min(s.window, target - sent);
        for (let i = 0; i < first; i++) {
          sent++;
          p.publish(null);
        }
        p.flush();
      }
    });
  await phase(warm);
  const meter = new HeapMeter();
  meter.start();
  await phase(n);
  const w = meter.stop();
  await p.close();
  if (p.errors.length > 0) throw new Error(kind + " publish garbage: " + summarize(p.errors));
  return { kind, side: "publish", qos, messages: n, bytesPerMessage: w.allocated / n, collections: w.collections };
}

/** The feeder process, started once for all receive runs. */
export class Feeder {
  private child: ChildProcess;
  private pending: { resolve: (n: number) => void; reject: (e: Error) => void } | null = null;

  constructor() {
    this.child = fork(new URL("./feeder.ts", import.meta.url).pathname, [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (m: { done?: number; error?: string }) => {
      const p = this.pending;
      this.pending = null;
      if (!p) return;
      if (m.error) p.reject(new Error("feeder: " + m.error));
      else p.resolve(m.done as number);
    });
    this.child.on("exit", (code) => {
      const p = this.pending;
      this.pending = null;
      if (p) p.reject(new Error("feeder exited with " + code));
    });
  }

  feed(order: FeedOrder): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.child.send(order);
    });
  }

  close(): void {
    this.child.kill();
  }
}

export async function receiveGarbage(
  kind: KindId,
  broker: BenchBroker,
  feeder: Feeder,
  qos: number,
  warm: number,
  n: number,
  ratePerSec: number,
): Promise<GarbageResult> {
  const topic = "bench/garbage/feed/" + kind.replace(/[^a-z]/gi, "");
  const meter = new HeapMeter();
  let received = 0;
  let chunks = 0;
  let chunksAtStart = 0;
  let result: { allocated: number; collections: number } | null = null;
  let measured: () => void = () => {};
  const done = new Promise<void>((resolve) => (measured = resolve));
  const sub = await makeSubscriber(
    kind,
    broker,
    spec(topic, qos),
    () => {
      received++;
      if (received === warm) {
        chunksAtStart = chunks;
        meter.start();
      } else if (received === warm + n) {
        result = meter.stop();
        chunks -= chunksAtStart;
        measured();
      }
    },
    false,
    () => {
      chunks++;
    },
  );
  const fed = feeder.feed({ host: broker.host, port: broker.port, topic, qos, count: warm + n, ratePerSec, payloadBytes: PAYLOAD.length });
  let timer: NodeJS.Timeout | undefined;
  const stall = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(kind + " receive garbage: received " + received + " of " + (warm + n))), ((warm + n) / ratePerSec) * 1000 + 30000);
  });
  try {
    await Promise.race([Promise.all([done, fed]), stall]);
  } finally {
    clearTimeout(timer);
    await sub.close();
  }
  if (sub.errors.length > 0) throw new Error(kind + " receive garbage: " + summarize(sub.errors));
  const r = result as unknown as { allocated: number; collections: number };
  return { kind, side: "receive", qos, messages: n, bytesPerMessage: r.allocated / n, collections: r.collections, chunks };
}

export interface GarbageSettings {
  warm: number;
  messages: number;
  receiveRatePerSec: number;
}

export interface KindGarbage {
  e2e: GarbageResult[];
  alone: AloneResult[];
}

/**
 * Every garbage measurement of one kind, in this process: publish (QoS 0, 1), receive (QoS 0,
 * 1) over the broker, then the client alone.
 */
export async function garbageForKind(kind: KindId | "loop", broker: BenchBroker, s: GarbageSettings): Promise<KindGarbage> {
  const e2e: GarbageResult[] = [];
  for (const qos of kind === "loop" ? [0] : [0, 1]) e2e.push(await publishGarbage(kind, broker, qos, s.warm, s.messages));
  if (kind !== "loop") {
    const feeder = new Feeder();
    try {
      for (const qos of [0, 1]) e2e.push(await receiveGarbage(kind, broker, feeder, qos, s.warm, s.messages, s.receiveRatePerSec));
    } finally {
      feeder.close();
    }
  }
  let alone: AloneResult[] = [];
  if (kind === "mcu-mqtt") alone = mcuAloneRuns(s.messages);
  else if (kind === "MQTT.js") alone = await mqttjsAloneRuns(s.messages);
  return { e2e, alone };
}

/** `garbageForKind` in a fresh Node process (see spawn.ts). */
export function garbageInChild(kind: KindId | "loop", broker: BenchBroker, s: GarbageSettings): Promise<KindGarbage> {
  return runInChild<KindGarbage>("garbage", broker, kind, s);
}
