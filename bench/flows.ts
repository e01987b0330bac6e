/**
 * End-to-end runs, publisher → broker → subscriber, both in this process, driven identically
 * for every kind:
 *
 * Throughput. QoS 0: the publisher publishes `batch` messages, then yields with setImmediate,
 * and so on; it also pauses while `window` messages are published and not yet received (and
 * resumes when the subscriber has caught up to half of that), so no run can overflow the broker
 * or a socket and every message arrives. QoS 1/2: the publisher first publishes `window`
 * messages, then one more from each acknowledgement callback, so exactly `window` messages are
 * in flight. The clock runs from the first publish until the last message was received and, for
 * QoS 1/2, the last acknowledgement arrived.
 *
 * Latency. Messages go out at a fixed rate (a 1 ms timer publishes every message that is due),
 * each with `performance.now()` in its first 8 payload bytes; the subscriber takes the
 * difference on arrival. Publisher and subscriber share the clock, being one process.
 */
import { performance } from "node:perf_hooks";
import { processCpuMs, type BenchBroker } from "./broker.ts";
import { makePublisher, makeSubscriber, type KindId, type Publisher, type RunSpec } from "./kinds.ts";

export interface ThroughputResult {
  kind: KindId;
  qos: number;
  count: number;
  payloadBytes: number;
  elapsedMs: number;
  msgPerSec: number;
  received: number;
  /** CPU use over the run, in % of one core: this process (both clients), and the broker. */
  benchCpuPct: number;
  brokerCpuPct: number;
}

export interface LatencyResult {
  kind: KindId;
  qos: number;
  ratePerSec: number;
  count: number;
  received: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Throws when a run stalls: a missing message must be a loud failure, never a slow number. */
function deadline(ms: number, what: () => string): { promise: Promise<never>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("run stalled after " + ms + " ms: " + what())), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

export async function throughput(
  kind: KindId,
  broker: BenchBroker,
  spec: RunSpec,
  count: number,
  timeoutMs = 120000,
): Promise<ThroughputResult> {
  let sent = 0;
  let received = 0;
  let acked = 0;
  let startMs = 0;
  let blocked = false;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let endMs = 0;
  const check = () => {
    if (received === count && (spec.qos === 0 || acked === count) && endMs === 0) {
      endMs = performance.now();
      finish();
    }
  };
  let pub: Publisher | null = null;
  const sub = await makeSubscriber(
    kind,
    broker,
    spec,
    () => {
      received++;
      if (blocked && sent - received <= spec.window >> 1) {
        blocked = false;
        setImmediate(pump);
      }
      if (received === count) check();
    },
    false,
  );
  const onAck = () => {
    acked++;
    if (sent < count) {
      sent++;
      (pub as Publisher).publish(null);
    }
    if (acked === count) check();
  };
  pub = await makePublisher(kind, broker, spec, onAck);
  const p = pub;
  function pump(): void {
    let n = 0;
    while (n < spec.batch && sent < count) {
      if (sent - received >= spec.window) {
        blocked = true;
        break;
      }
      p.publish(null);
      sent++;
      n++;
    }
    p.flush();
    if (!blocked && sent < count) setImmediate(pump);
  }
  const guard = deadline(timeoutMs, () => kind + " QoS " + spec.qos + ": sent " + sent + ", received " + received + " of " + count + ", acked " + acked + "; errors: " + summarize(p.errors.concat(sub.errors)));
  const cpu0 = process.cpuUsage();
  const brokerCpu0 = processCpuMs(broker.pid);
  let cpu1 = cpu0;
  let brokerCpu1 = brokerCpu0;
  finished.then(() => {
    cpu1 = process.cpuUsage(cpu0);
    brokerCpu1 = processCpuMs(broker.pid);
  });
  startMs = performance.now();
  if (spec.qos === 0) pump();
  else {
    const first = Math.min(spec.window, count);
    for (let i = 0; i < first; i++) {
      sent++;
      p.publish(null);
    }
    p.flush();
  }
  try {
    await Promise.race([finished, guard.promise]);
  } finally {
    guard.cancel();
    await p.close();
    await sub.close();
  }
  const errors = p.errors.concat(sub.errors);
  if (errors.length > 0) throw new Error(kind + " QoS " + spec.qos + ": " + summarize(errors));
  const elapsedMs = endMs - startMs;
  return {
    kind,
    qos: spec.qos,
    count,
    payloadBytes: spec.payload.length,
    elapsedMs,
    msgPerSec: (count / elapsedMs) * 1000,
    received,
    benchCpuPct: ((cpu1.user + cpu1.system) / 1000 / elapsedMs) * 100,
    brokerCpuPct: ((brokerCpu1 - brokerCpu0) / elapsedMs) * 100,
  };
}

/** The first errors and how many there were in all. */
function summarize(errors: string[]): string {
  return errors.slice(0, 3).join("; ") + (errors.length > 3 ? "; and " + (errors.length - 3) + " more" : "");
}

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

function readTime(bytes: Uint8Array, off: number): number {
  for (let i = 0; i < 8; i++) f64Bytes[i] = bytes[off + i];
  return f64[0];
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

export async function latency(
  kind: KindId,
  broker: BenchBroker,
  spec: RunSpec,
  ratePerSec: number,
  durationMs: number,
): Promise<LatencyResult> {
  const count = Math.round((ratePerSec * durationMs) / 1000);
  const samples = new Float64Array(count);
  let received = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const sub = await makeSubscriber(
    kind,
    broker,
    spec,
    (bytes, off) => {
      const now = performance.now();
      if (received < count) samples[received] = now - readTime(bytes, off);
      received++;
      if (received === count) finish();
    },
    true,
  );
  const pub = await makePublisher(kind, broker, spec, () => {});
  let sent = 0;
  const startMs = performance.now();
  const tick = () => {
    const due = Math.min(count, Math.floor(((performance.now() - startMs) * ratePerSec) / 1000) + 1);
    while (sent < due) {
      // A fresh payload per message: MQTT.js may still hold the previous one in its stream.
      const payload = Buffer.alloc(spec.payload.length);
      f64[0] = performance.now();
      payload.set(f64Bytes, 0);
      pub.publish(payload);
      sent++;
    }
    pub.flush();
    if (sent < count) setTimeout(tick, 1);
  };
  const guard = deadline(durationMs + 30000, () => kind + " latency QoS " + spec.qos + ": received " + received + " of " + count);
  tick();
  try {
    await Promise.race([finished, guard.promise]);
  } finally {
    guard.cancel();
    await pub.close();
    await sub.close();
  }
  const errors = pub.errors.concat(sub.errors);
  if (errors.length > 0) throw new Error(kind + " latency QoS " + spec.qos + ": " + summarize(errors));
  const sorted = samples.slice(0, Math.min(received, count)).sort();
  return {
    kind,
    qos: spec.qos,
    ratePerSec,
    count,
    received,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.length > 0 ? sorted[sorted.length - 1] : NaN,
  };
}
