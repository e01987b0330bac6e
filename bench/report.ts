/**
 * RESULTS.md and throughput.svg from the numbers of one benchmark run.
 */
import type { AloneResult } from "./alone.ts";
import type { BundleSize, EngineFootprint, NodeFootprint } from "./footprint.ts";
import type { LatencyResult, ThroughputResult } from "./flows.ts";
import type { GarbageResult } from "./garbage.ts";
import type { KindId } from "./kinds.ts";

export interface Machine {
  /** 1-minute load average when the run started and when it ended (others may share the machine). */
  loadStart: number;
  loadEnd: number;
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  broker: string;
  latencyBroker: string;
  mqttjs: string;
  date: string;
}

export interface ThroughputCase {
  name: string;
  qos: number;
  payloadBytes: number;
  count: number;
  window: number;
  batch: number;
  /** Every run, per kind. */
  runs: Record<KindId, ThroughputResult[]>;
}

export interface BenchResults {
  machine: Machine;
  runs: number;
  quick: boolean;
  throughput: ThroughputCase[];
  /** The 64-byte cases again on the broker with set_tcp_nodelay (empty with --broker). */
  throughputNoDelay: ThroughputCase[];
  latency: { qos: number; ratePerSec: number; durationMs: number; runs: Record<KindId, LatencyResult[]> }[];
  garbage: GarbageResult[][];
  alone: AloneResult[][];
  bundles: BundleSize[];
  node: NodeFootprint | null;
  engines: EngineFootprint[];
  notes: string[];
  elapsedSec: number;
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const KIND_ORDER: KindId[] = ["mcu-mqtt", "MQTT.js", "floor"];

function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–";
}
function fixed(n: number, d: number): string {
  return Number.isFinite(n) ? n.toFixed(d) : "–";
}
function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) ? (a / b).toFixed(2) + "×" : "–";
}
function pct(a: number, b: number): string {
  return Number.isFinite(a / b) ? Math.round((a / b) * 100) + "%" : "–";
}
function table(head: string[], rows: string[][], align?: string): string {
  const a = align || head.map((_, i) => (i === 0 ? "l" : "r")).join("");
  const sep = head.map((_, i) => (a[i] === "r" ? "---:" : "---"));
  return [head, sep, ...rows].map((r) => "| " + r.join(" | ") + " |").join("\n");
}

export function throughputMedians(c: ThroughputCase): Record<KindId, number> {
  const out = {} as Record<KindId, number>;
  for (const k of KIND_ORDER) out[k] = median((c.runs[k] || []).map((r) => r.msgPerSec));
  return out;
}

export interface Target {
  what: string;
  goal: string;
  measured: string;
  met: boolean;
}

export function targets(r: BenchResults): Target[] {
  const out: Target[] = [];
  const byName = (q: number) => r.throughput.find((c) => c.qos === q && c.payloadBytes === 64);
  const q0 = byName(0);
  if (q0) {
    const m = throughputMedians(q0);
    out.push({ what: "QoS 0 throughput vs MQTT.js", goal: "≥ 1.5×", measured: ratio(m["mcu-mqtt"], m["MQTT.js"]), met: m["mcu-mqtt"] >= 1.5 * m["MQTT.js"] });
    out.push({ what: "QoS 0 throughput vs the raw floor", goal: "≥ 90%", measured: pct(m["mcu-mqtt"], m.floor), met: m["mcu-mqtt"] >= 0.9 * m.floor });
  }
  for (const q of [1, 2]) {
    const c = byName(q);
    if (!c) continue;
    const m = throughputMedians(c);
    out.push({ what: "QoS " + q + " throughput vs MQTT.js", goal: "≥ 2×", measured: ratio(m["mcu-mqtt"], m["MQTT.js"]), met: m["mcu-mqtt"] >= 2 * m["MQTT.js"] });
  }
  // The same on the TCP_NODELAY broker, where mosquitto is the ceiling for every kind.
  for (const c of r.throughputNoDelay) {
    const m = throughputMedians(c);
    const goal = c.qos === 0 ? 1.5 : 2;
    out.push({ what: c.name + " throughput vs MQTT.js (broker with set_tcp_nodelay)", goal: "≥ " + goal + "×", measured: ratio(m["mcu-mqtt"], m["MQTT.js"]), met: m["mcu-mqtt"] >= goal * m["MQTT.js"] });
    if (c.qos === 0) out.push({ what: c.name + " throughput vs the raw floor (broker with set_tcp_nodelay)", goal: "≥ 90%", measured: pct(m["mcu-mqtt"], m.floor), met: m["mcu-mqtt"] >= 0.9 * m.floor });
  }
  const g = garbageMedians(r.garbage);
  const rx = g.find((x) => x.kind === "mcu-mqtt" && x.side === "receive" && x.qos === 0);
  if (rx) out.push({ what: "garbage per received QoS 0 message (end to end)", goal: "≤ 64 B", measured: fixed(rx.bytesPerMessage, 0) + " B", met: rx.bytesPerMessage <= 64 });
  const a = aloneMedians(r.alone);
  const rxa = a.find((x) => x.kind === "mcu-mqtt" && x.what.startsWith("receive QoS 0, 100"));
  if (rxa) out.push({ what: "garbage per received QoS 0 message (client alone)", goal: "≤ 64 B", measured: fixed(rxa.bytesPerMessage, 1) + " B", met: rxa.bytesPerMessage <= 64 });
  const rxRaw = a.find((x) => x.kind === "mcu-mqtt" && x.what.startsWith("receive QoS 0 through rawMessage"));
  if (rxRaw) out.push({ what: "garbage per received QoS 0 message through rawMessage (client alone)", goal: "≤ 64 B", measured: fixed(rxRaw.bytesPerMessage, 1) + " B", met: rxRaw.bytesPerMessage <= 64 });
  const txa = a.find((x) => x.kind === "mcu-mqtt" && x.what === "publish QoS 0, Uint8Array payload");
  if (txa) out.push({ what: "garbage per QoS 0 publish of a Uint8Array (client alone)", goal: "none (< 1 B)", measured: fixed(txa.bytesPerMessage, 1) + " B", met: txa.bytesPerMessage < 1 });
  const tx = g.find((x) => x.kind === "mcu-mqtt" && x.side === "publish" && x.qos === 0);
  const loop = g.find((x) => x.kind === "loop" && x.side === "publish" && x.qos === 0);
  if (tx) {
    const net = tx.bytesPerMessage - (loop ? loop.bytesPerMessage : 0);
    out.push({ what: "garbage per QoS 0 publish of a Uint8Array (end to end, less the loop's own)", goal: "none (< 1 B)", measured: fixed(net, 1) + " B", met: net < 1 });
  }
  return out;
}

/** What bounds the measured ratios, computed from this run's own numbers. */
export function limits(r: BenchResults): string[] {
  const out: string[] = [];
  for (const c of r.throughput.filter((x) => x.payloadBytes === 64)) {
    const m = throughputMedians(c);
    const goal = c.qos === 0 ? 1.5 : 2;
    const room = m.floor / m["MQTT.js"];
    if (m["mcu-mqtt"] < goal * m["MQTT.js"] && room < goal * 1.05) {
      out.push(
        c.name + ": the raw floor itself runs at " + room.toFixed(2) + "× MQTT.js on this broker, so " + goal + "× needs mcu-mqtt at " + pct(goal * m["MQTT.js"], m.floor) + " of the floor; it ran at " + pct(m["mcu-mqtt"], m.floor) + ".",
      );
    }
  }
  const a = aloneMedians(r.alone);
  const g = garbageMedians(r.garbage);
  const rxAlone = a.find((x) => x.kind === "mcu-mqtt" && x.what.startsWith("receive QoS 0, 100"));
  const rx = g.find((x) => x.kind === "mcu-mqtt" && x.side === "receive" && x.qos === 0);
  const rxFloor = g.find((x) => x.kind === "floor" && x.side === "receive" && x.qos === 0);
  const rxRawAlone = a.find((x) => x.kind === "mcu-mqtt" && x.what.startsWith("receive QoS 0 through rawMessage"));
  if (rxAlone && rx && rxAlone.bytesPerMessage > 64) {
    out.push(
      "Received messages: " + fixed(rxAlone.bytesPerMessage, 0) + " bytes each with no socket at all, which is the `Uint8Array` view of the payload handed to the handler (a view costs 96 bytes in V8; the topic string is reused while the topic repeats)" +
        (rxRawAlone ? "; a `rawMessage` listener, which reads the payload in place, costs " + fixed(rxRawAlone.bytesPerMessage, 1) + " bytes" : "") + ". End to end, " +
        fixed(rx.bytesPerMessage, 0) + " bytes: Node's read of each chunk" + (rxFloor && rxFloor.chunks ? " (" + int((rxFloor.bytesPerMessage * rxFloor.messages) / rxFloor.chunks) + " bytes per chunk on the floor's socket)" : "") + ", a clock read per packet and one per chunk (in Node 20 every `performance.now()` allocates its result) come on top.",
    );
  }
  const tx = g.find((x) => x.kind === "mcu-mqtt" && x.side === "publish" && x.qos === 0);
  const txAlone = a.find((x) => x.kind === "mcu-mqtt" && x.what === "publish QoS 0, Uint8Array payload");
  if (tx && txAlone) {
    out.push(
      "Publishes: " + fixed(txAlone.bytesPerMessage, 1) + " bytes each for the client alone; the " + fixed(tx.bytesPerMessage, 0) + " bytes end to end are the Node board's: the session reads the clock when it sends and when it re-arms its timer (16 bytes per `performance.now()`, and the deadline computed from a fractional time is a heap number too), and each flush of the staging buffer is a `Buffer` and a socket write.",
    );
  }
  return out;
}

export function garbageMedians(runs: GarbageResult[][]): GarbageResult[] {
  if (runs.length === 0) return [];
  return runs[0].map((first, i) => ({
    ...first,
    bytesPerMessage: median(runs.map((r) => r[i].bytesPerMessage)),
    collections: median(runs.map((r) => r[i].collections)),
    chunks: first.chunks === undefined ? undefined : median(runs.map((r) => r[i].chunks as number)),
  }));
}

export function aloneMedians(runs: AloneResult[][]): AloneResult[] {
  if (runs.length === 0) return [];
  return runs[0].map((first, i) => ({ ...first, bytesPerMessage: median(runs.map((r) => r[i].bytesPerMessage)), collections: median(runs.map((r) => r[i].collections)) }));
}

// ---------------------------------------------------------------------------------------------
// The chart

const COLORS: Record<KindId, string> = { "mcu-mqtt": "#2563a8", "MQTT.js": "#d9822b", floor: "#9aa0a6" };

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  // Multiples whose quarters are round too.
  for (const m of [1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function shortNumber(v: number): string {
  if (!Number.isFinite(v)) return "–";
  const trim = (x: number) => (Math.abs(x - Math.round(x)) < 0.05 ? String(Math.round(x)) : x.toFixed(1));
  if (v >= 1e6) return trim(v / 1e6) + "M";
  if (v >= 1e3) return trim(v / 1e3) + "k";
  return String(Math.round(v));
}

/** A bar's value: whole thousands from 10,000 up. */
function barNumber(v: number): string {
  return Number.isFinite(v) && v >= 1e4 && v < 1e6 ? Math.round(v / 1e3) + "k" : shortNumber(v);
}

/**
 * Grouped bars, one panel per case (each with its own scale, since QoS 0 runs several times
 * faster than QoS 2): mcu-mqtt, MQTT.js and the raw floor, medians in messages per second.
 */
export function throughputSvg(r: BenchResults): string {
  const cases = r.throughput;
  const panelW = 224;
  const axisW = 36;
  const gap = 26;
  const left = 16;
  const top = 66;
  const plotH = 200;
  const width = left * 2 + cases.length * panelW + (cases.length - 1) * gap;
  const height = top + plotH + 98;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="-apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="600" fill="#1f2328">End-to-end throughput, publisher → mosquitto → subscriber (messages/s, median of ${r.runs} runs)</text>`,
  );
  let lx = left;
  for (const k of KIND_ORDER) {
    const label = k === "floor" ? "raw-socket floor" : k;
    parts.push(`<rect x="${lx}" y="35" width="12" height="12" fill="${COLORS[k]}"/>`, `<text x="${lx + 17}" y="45" fill="#1f2328">${esc(label)}</text>`);
    lx += 34 + label.length * 7;
  }
  cases.forEach((c, i) => {
    const m = throughputMedians(c);
    const x0 = left + i * (panelW + gap);
    const px = x0 + axisW;
    const pw = panelW - axisW;
    const max = niceMax(Math.max(m["mcu-mqtt"], m["MQTT.js"], m.floor) * 1.1);
    const base = top + plotH;
    for (let t = 0; t <= 4; t++) {
      const y = base - (plotH * t) / 4;
      parts.push(
        t === 0
          ? `<line x1="${px}" y1="${y}" x2="${px + pw}" y2="${y}" stroke="#57606a" stroke-width="1"/>`
          : `<line x1="${px}" y1="${y}" x2="${px + pw}" y2="${y}" stroke="#d0d7de" stroke-width="1" stroke-dasharray="2,3"/>`,
        `<text x="${px - 5}" y="${y + 4}" text-anchor="end" font-size="10" fill="#6e7781">${shortNumber((max * t) / 4)}</text>`,
      );
    }
    const barW = 44;
    const inner = (pw - 3 * barW) / 4;
    KIND_ORDER.forEach((k, j) => {
      const v = m[k];
      const h = Number.isFinite(v) ? (v / max) * plotH : 0;
      const x = px + inner + j * (barW + inner);
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${(base - h).toFixed(1)}" width="${barW}" height="${h.toFixed(1)}" fill="${COLORS[k]}"><title>${esc(k)}: ${int(v)} msg/s</title></rect>`,
        `<text x="${(x + barW / 2).toFixed(1)}" y="${(base - h - 5).toFixed(1)}" text-anchor="middle" font-size="11" fill="#1f2328">${barNumber(v)}</text>`,
      );
    });
    const mid = px + pw / 2;
    parts.push(
      `<text x="${mid}" y="${base + 20}" text-anchor="middle" font-size="13" font-weight="600" fill="#1f2328">${esc(c.name)}</text>`,
      `<text x="${mid}" y="${base + 37}" text-anchor="middle" font-size="11" fill="#57606a">mcu-mqtt: ${esc(ratio(m["mcu-mqtt"], m["MQTT.js"]))} MQTT.js</text>`,
      `<text x="${mid}" y="${base + 52}" text-anchor="middle" font-size="11" fill="#57606a">${esc(pct(m["mcu-mqtt"], m.floor))} of the floor</text>`,
    );
  });
  parts.push(
    `<text x="${left}" y="${height - 22}" font-size="10" fill="#6e7781">mosquitto with its defaults (Nagle on): it coalesces its writes, so at QoS 1 and 2 the floor is not a ceiling. With set_tcp_nodelay the broker is the ceiling of mcu-mqtt and the floor: see bench/RESULTS.md.</text>`,
    `<text x="${left}" y="${height - 8}" font-size="10" fill="#6e7781">${esc(r.machine.cpu + ", " + r.machine.cores + " cores · Node " + r.machine.node + " · " + r.machine.broker + " · MQTT.js " + r.machine.mqttjs + " · " + r.machine.date + " · 64-byte payloads unless noted")}</text>`,
    "</svg>",
  );
  return parts.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// RESULTS.md

export function resultsMarkdown(r: BenchResults): string {
  const L: string[] = [];
  const m = r.machine;
  L.push("# Benchmark results", "");
  L.push(
    "Written by `npm run bench` (`node --expose-gc --import tsx bench/run.ts" + (r.quick ? " --quick" : "") + "`) on " + m.date + "; " + r.runs + " runs, medians; took " + Math.round(r.elapsedSec) + " s. Run it again to replace this file.",
    "",
  );
  L.push("![throughput per QoS](throughput.svg)", "");
  L.push("## Machine", "");
  L.push(
    table(
      ["", ""],
      [
        ["CPU", m.cpu + ", " + m.cores + " cores"],
        ["memory", m.memoryGiB.toFixed(1) + " GiB"],
        ["OS", m.os],
        ["load average (1 min)", fixed(m.loadStart, 2) + " at the start, " + fixed(m.loadEnd, 2) + " at the end (the benchmark itself keeps about 1.5 busy)"],
        ["Node", m.node],
        ["broker (throughput, garbage)", m.broker],
        ["broker (latency)", m.latencyBroker],
        ["MQTT.js", m.mqttjs + " (default options)"],
      ],
      "ll",
    ),
    "",
  );

  L.push("## Targets", "");
  L.push(
    table(
      ["target", "goal", "measured", ""],
      targets(r).map((t) => [t.what, t.goal, t.measured, t.met ? "met" : "**missed**"]),
      "llrl",
    ),
    "",
  );
  const notes = r.notes.concat(limits(r));
  if (notes.length > 0) {
    for (const n of notes) L.push("- " + n);
    L.push("");
  }

  L.push("## Throughput", "");
  L.push(
    "Publisher → broker → subscriber, both clients of a kind in this process, 64-byte payloads unless noted; messages per second from the first publish to the last message received (and, for QoS 1/2, the last acknowledgement). Every message of every run arrived (a missing one fails the run).",
    "",
  );
  const rows: string[][] = [];
  for (const c of r.throughput) {
    const md = throughputMedians(c);
    const cpu = (k: KindId, f: (t: ThroughputResult) => number) => fixed(median((c.runs[k] || []).map(f)), 0);
    rows.push([
      c.name,
      int(c.count),
      int(md["mcu-mqtt"]),
      int(md["MQTT.js"]),
      int(md.floor),
      ratio(md["mcu-mqtt"], md["MQTT.js"]),
      pct(md["mcu-mqtt"], md.floor),
      KIND_ORDER.map((k) => cpu(k, (t) => t.benchCpuPct) + "/" + cpu(k, (t) => t.brokerCpuPct)).join(" · "),
    ]);
  }
  L.push(table(["case", "messages", "mcu-mqtt msg/s", "MQTT.js msg/s", "floor msg/s", "mcu-mqtt / MQTT.js", "mcu-mqtt / floor", "CPU % bench/broker (mcu · MQTT.js · floor)"], rows), "");
  const big = r.throughput.find((c) => c.payloadBytes > 1024);
  if (big) {
    const md = throughputMedians(big);
    L.push(
      "The " + big.name + " case in payload bytes: " + KIND_ORDER.map((k) => k + " " + fixed((md[k] * big.payloadBytes) / 1048576, 0) + " MiB/s").join(", ") + ".",
      "",
    );
  }
  if (r.throughputNoDelay.length > 0) {
    L.push(
      "The same 64-byte cases on the broker started with `set_tcp_nodelay true` (" + m.latencyBroker + "). There mosquitto writes every packet at once and, in the runs of mcu-mqtt and of the floor, uses a full core: the broker is their ceiling (CPU column). MQTT.js is held first by its own CPU use. With mosquitto's default (Nagle on, the table above) the broker coalesces its writes and goes faster, but how much depends on the timing of each kind's writes, so there the floor is not a strict upper bound at QoS 1 and 2.",
      "",
    );
    const nd: string[][] = [];
    for (const c of r.throughputNoDelay) {
      const md = throughputMedians(c);
      const cpu = (k: KindId, f: (t: ThroughputResult) => number) => fixed(median((c.runs[k] || []).map(f)), 0);
      nd.push([
        c.name,
        int(c.count),
        int(md["mcu-mqtt"]),
        int(md["MQTT.js"]),
        int(md.floor),
        ratio(md["mcu-mqtt"], md["MQTT.js"]),
        pct(md["mcu-mqtt"], md.floor),
        KIND_ORDER.map((k) => cpu(k, (t) => t.benchCpuPct) + "/" + cpu(k, (t) => t.brokerCpuPct)).join(" · "),
      ]);
    }
    L.push(table(["case", "messages", "mcu-mqtt msg/s", "MQTT.js msg/s", "floor msg/s", "mcu-mqtt / MQTT.js", "mcu-mqtt / floor", "CPU % bench/broker (mcu · MQTT.js · floor)"], nd), "");
  }
  L.push("Every run (msg/s):", "");
  const runRows: string[][] = [];
  for (const [label, list] of [["", r.throughput], ["nodelay: ", r.throughputNoDelay]] as [string, ThroughputCase[]][]) {
    for (const c of list) for (const k of KIND_ORDER) runRows.push([label + c.name, k, (c.runs[k] || []).map((t) => int(t.msgPerSec)).join(", ")]);
  }
  L.push(table(["case", "kind", "runs"], runRows, "lll"), "");

  L.push("## Latency", "");
  L.push("Publish to receive, at a fixed rate; the timestamp travels in the payload. Medians over the runs of each run's percentile.", "");
  const latRows: string[][] = [];
  for (const l of r.latency) {
    for (const k of KIND_ORDER) {
      const rs = l.runs[k] || [];
      latRows.push([
        "QoS " + l.qos,
        int(l.ratePerSec) + "/s for " + fixed(l.durationMs / 1000, 0) + " s",
        k,
        fixed(median(rs.map((x) => x.p50Ms)), 3),
        fixed(median(rs.map((x) => x.p99Ms)), 3),
        fixed(median(rs.map((x) => x.maxMs)), 2),
        rs.map((x) => fixed(x.p99Ms, 2)).join(", "),
      ]);
    }
  }
  L.push(table(["QoS", "rate", "kind", "p50 ms", "p99 ms", "max ms", "p99 of each run"], latRows, "lllrrrl"), "");
  L.push("On this shared two-core machine, differences in p99 below about a millisecond are within the run-to-run spread (last column).", "");

  L.push("## Garbage per message", "");
  L.push("JS heap bytes allocated per message in a steady state (after a warm-up), median of the runs; see the method below.", "");
  const g = garbageMedians(r.garbage);
  const gRows = g.map((x) => [
    x.side === "publish" ? "per published message" : "per received message",
    "QoS " + x.qos,
    x.kind === "loop" ? "the bench loop alone" : x.kind,
    int(x.messages),
    fixed(x.bytesPerMessage, 1),
    x.chunks ? fixed(x.messages / x.chunks, 2) : "",
    x.chunks ? int((x.bytesPerMessage * x.messages) / x.chunks) : "",
    fixed(x.collections, 0),
  ]);
  L.push("End to end, over TCP to the broker (includes Node's socket work, which is per chunk of bytes read: hence the chunk columns of the receive side):", "");
  L.push(table(["side", "QoS", "kind", "messages", "bytes/message", "messages/chunk", "bytes/chunk", "collections"], gRows, "lllrrrrr"), "");
  const a = aloneMedians(r.alone);
  L.push("Each client alone, without a socket (mcu-mqtt on a transport that only counts, MQTT.js on a Duplex stream that takes every write at once):", "");
  const aRows: string[][] = [];
  const whats = Array.from(new Set(a.map((x) => x.what)));
  for (const w of whats) {
    const mine = a.find((x) => x.kind === "mcu-mqtt" && x.what === w);
    const theirs = a.find((x) => x.kind === "MQTT.js" && x.what === w);
    aRows.push([w, mine ? fixed(mine.bytesPerMessage, 1) : "–", theirs ? fixed(theirs.bytesPerMessage, 1) : "–"]);
  }
  L.push(table(["what", "mcu-mqtt bytes/message", "MQTT.js bytes/message"], aRows, "lrr"), "");

  L.push("## Footprint", "");
  L.push("Minified bundles (`npm run build:bundles`), next to the reference sizes of the peers:", "");
  const bRows = r.bundles.map((b) => [b.file, b.what, b.bytes === null ? "not built" : int(b.bytes), b.gzip === null ? "–" : int(b.gzip)]);
  bRows.push(["Espruino MQTT module", "QoS 0 only", "6,160", "–"], ["tinyMQTT", "QoS 0, payloads up to 127 bytes", "1,418–1,784", "–"]);
  L.push(table(["bundle", "what", "bytes", "gzip"], bRows, "llrr"), "");
  if (r.node) {
    const n = r.node;
    L.push("Buffers and tables a client allocates for its default options (the typed arrays reachable from a `Client`, on a board that allocates nothing):", "");
    L.push(table(["typed array", "bytes"], [...n.typed.map((t) => ["`" + t.path + "`", int(t.bytes)]), ["**total**", "**" + int(n.typedTotal) + "**"]], "lr"), "");
    L.push(
      "Constructing one (200 built at once, per client): JS heap +" + int(n.constructHeap) + " B (the objects, and typed arrays of up to 64 bytes, which V8 keeps on the heap), ArrayBuffer memory +" + int(n.constructArrayBuffers) + " B. The Node board adds " + int(n.nodeBoardBytes) + " bytes per transport: a 64 KB staging buffer for writes and a 64 KB buffer that plain TCP reads land in.",
      "",
    );
    L.push("Connected over TCP with two subscriptions, in Node, in a process of its own: the first client (with what its library builds once per process: for MQTT.js, mqtt-packet's cache of encoded numbers), then each of nine more:", "");
    L.push(
      table(
        ["kind", "first: JS heap", "first: ArrayBuffers", "each more: JS heap", "each more: ArrayBuffers"],
        n.connected.map((c) => [c.kind, int(c.firstHeap), int(c.firstArrayBuffers), int(c.heap), int(c.arrayBuffers)]),
      ),
      "",
    );
  }
  if (r.engines.length > 0) {
    L.push("In small engines (the core bundle, default options, a scripted in-engine broker), connected with two subscriptions, then 1,000 and " + int(r.engines[0].messages) + " more messages (QoS 0, 1 and 2 in turn, each published and received by the client):", "");
    L.push(
      table(
        ["engine", "client bytes", "after 1,000 messages", "after " + int(r.engines[0].messages + 1000), "growth per message", "how"],
        r.engines.map((e) => [
          e.engine,
          e.clientBytes === null ? "–" : int(e.clientBytes),
          e.after1k === null ? "–" : int(e.after1k),
          e.after11k === null ? "–" : int(e.after11k),
          e.growthPerMessage === null ? (e.error ? e.error : "–") : fixed(e.growthPerMessage, 2) + " B",
          e.how,
        ]),
        "lrrrrl",
      ),
      "",
    );
    const duk = r.engines.find((e) => e.engine.startsWith("duktape")) as (EngineFootprint & { rss?: Record<string, number> }) | undefined;
    if (duk && duk.rss) {
      L.push(
        "duktape's resident set size, for the record: " +
          ["base", "up", "m1", "m2"].map((k, i) => ["before the client", "client connected", "after 1,000 messages", "after " + int(duk.messages + 1000)][i] + " " + fixed((duk.rss as Record<string, number>)[k] / 1024, 0) + " KiB").join(", ") +
          " (the jump during the first messages is the scripted broker's per-packet objects settling into the allocator; it stays flat after).",
        "",
      );
    }
  }
  L.push(METHOD);
  return L.join("\n") + "\n";
}

const METHOD = `## Method

- **Brokers.** bench/broker.ts spawns mosquitto on 127.0.0.1 and a free port with a generated
  config: anonymous, no persistence, \`max_inflight_messages 65534\` (2.0.11 stalls QoS 2 with
  its default of 20), \`max_queued_messages 100000\`. The latency runs use a second instance with
  \`set_tcp_nodelay true\`: with mosquitto's default (Nagle on) a lone small message to the
  subscriber can wait for the previous segment's ACK (the 40 ms delayed-ACK timer), and the p99
  then measures that for every client alike (about 10 ms at QoS 0). \`--broker URL\` uses one
  given broker for everything.
- **Throughput.** Publisher and subscriber are two clients of the same kind in this process (one
  core; the broker has the other). QoS 0: the publisher publishes 100 messages, yields with
  \`setImmediate\`, and so on, and pauses while 10,000 messages (64 for 16 KB payloads) are
  published but not yet received, resuming when the subscriber has caught up half of that, so no
  run overflows a queue. QoS 1/2: a window of 64: 64 publishes, then one more from each
  acknowledgement callback. The same strategy drives all three kinds. The subscriber subscribes
  at the publish QoS. A warm-up pass (a fifth of the messages) runs before the measured runs; the
  order of the kinds rotates from run to run.
- **mcu-mqtt options.** Node's defaults (an outbox limited by its bytes, 16 MB; an incoming QoS 2
  table that cannot fill), except: \`maxInflight\` = the window (64); \`txBytes\`/\`rxBytes\`
  4,096, or payload + 64 for the 16 KB case. MQTT.js runs with its defaults
  (\`reconnectPeriod: 0\`).
- **The raw-socket floor.** A hand-made CONNECT on a bare TCP socket; QoS 0 publishes are one
  pre-encoded batch written as it is; the subscriber socket parses fixed headers only (and the
  packet id of QoS 1/2 messages to acknowledge them, with pre-built 4-byte acks). Writes are
  gathered per event-loop turn, as mcu-mqtt's Node transport does.
- **CPU %.** \`process.cpuUsage()\` of this process (both clients) and the broker's utime + stime
  from /proc over the run, as a share of one core (the broker's at 10 ms resolution).
- **Latency.** 2,000 messages/s: a 1 ms timer publishes every message that is due, each with
  \`performance.now()\` in its first 8 payload bytes (a fresh payload per message); the
  subscriber in the same process takes the difference.
- **Garbage.** Node 20's \`v8.getHeapStatistics()\` has no running allocation total, so
  bench/heap.ts rebuilds it: a \`v8.GCProfiler\` records the used heap before and after every
  collection in the window, and allocated = (used at end − used at start) + Σ(before − after).
  Checked against known allocations (a \`{a, b}\` literal measures 40.6 B, V8's size is 40; a
  \`subarray\` view 96.3 B). It counts every JS heap allocation in the process in the window (not
  ArrayBuffer backing stores). Per published message: publishing to a topic nobody subscribes to,
  in the throughput runs' way; "the bench loop alone" is that loop with a publish that does
  nothing. Per received message: a feeder in a separate process (bench/feeder.ts) publishes at
  25,000 messages/s over a raw socket, so this process holds only the subscriber. "Alone": the
  same without sockets, messages fed as pre-encoded chunks.
- **Footprint.** Bundles as built by rollup (\`npm run build:bundles\`). Typed arrays: walked
  from a \`Client\` with default options. Node heap: \`used_heap_size\` and
  \`process.memoryUsage().arrayBuffers\` after two full collections, before and after.
  QuickJS: \`runtime.computeMemoryUsage().memory_used_size\` (quickjs-emscripten) around each
  step. duktape has no heap API: the bytes of the objects reachable from the client, summed
  inside duktape with \`Duktape.info\` (header + property table; typed arrays add their buffer),
  plus the process's resident set size from /proc at each step.
`;
