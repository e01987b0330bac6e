/**
 * The demo: a fleet of simulated Pico W telemetry nodes against a broker, watched live.
 *
 * Every node is boards/kaluma/example.js itself, unmodified, running in its own simulated Kaluma
 * device (sim/kaluma.ts) on the Kaluma bundle of mcu-mqtt. A dashboard subscriber (mcu-mqtt on
 * the Node board) shows per-node rates, reconnects, wills fired and messages lost, while faults are
 * injected on a schedule: links cut mid-packet, Wi-Fi lost and back, stalls, slow and chopped
 * links, and one broker restart. It ends by itself with a summary; the exit code is 1 if a node is
 * offline at the end or a reading was lost.
 *
 * One account of the readings serves the live screen, the table and the summary: a reading a node
 * took (its example's `seq`) has arrived, or was reported not delivered by the node's client
 * (refused with the outbox full, or dropped by an overflow policy: "dropped"), or is neither
 * ("lost" once the run has settled; while it runs, most of these are still on their way).
 *
 *   npm run sim -- --nodes 1000 --duration 60
 *   npm run sim -- --broker mqtt://127.0.0.1:1883     (a broker of yours; only 127.0.0.1 is reachable)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { connect, type Client } from "../../boards/node/index.ts";
import { TestBroker } from "../broker.ts";
import { ROOT } from "../context.ts";
import { createKalumaSim, type KalumaSim } from "../kaluma.ts";
import { SimRandom } from "../prng.ts";
import { FleetStats } from "./fleet-stats.ts";

const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "12" },
    duration: { type: "string", default: "30" },
    broker: { type: "string" },
    period: { type: "string", default: "1" },
    seed: { type: "string", default: "1" },
    "no-faults": { type: "boolean", default: false },
    "fault-every": { type: "string", default: "3" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(`usage: npm run sim -- [options]
  --nodes N          simulated Pico W nodes (default 12; 1000 works)
  --duration S       seconds of traffic before the summary (default 30)
  --period S         seconds between a node's readings (default 1)
  --broker URL       mqtt://127.0.0.1:PORT of a running broker instead of the embedded aedes
  --fault-every S    seconds between injected faults (default 3)
  --no-faults        no faults
  --seed N           seed of the fault schedule and the devices (default 1)`);
  process.exit(0);
}

const NODES = Math.max(1, Number(values.nodes));
const DURATION_MS = Number(values.duration) * 1000;
const PERIOD_S = Number(values.period);
const SEED = Number(values.seed);
const FAULT_EVERY_MS = Number(values["fault-every"]) * 1000;
const PREFIX = "fleet";
const KEEPALIVE_S = 5;
const rand = new SimRandom(SEED);

// ---- the broker -----------------------------------------------------------------------------
let embedded: TestBroker | null = null;
let host = "127.0.0.1";
let port: number;
if (values.broker) {
  const u = new URL(values.broker);
  host = u.hostname;
  port = Number(u.port || 1883);
} else {
  embedded = await TestBroker.start();
  port = embedded.port;
}

// ---- the dashboard's subscriber ---------------------------------------------------------------
const stats = new FleetStats(() => performance.now());
const dashboard: Client = connect({
  host,
  port,
  clientId: "fleet-dashboard-" + SEED,
  clean: false, // a persistent session: readings published while it reconnects wait for it
  keepalive: KEEPALIVE_S,
  reconnect: { minMs: 200, maxMs: 2000 },
});
let dashboardErrors = 0;
dashboard.on("error", () => dashboardErrors++);
dashboard.on("connect", (connack: { sessionPresent: boolean }) => {
  // A broker that kept the session keeps the subscriptions too.
  if (!connack.sessionPresent) dashboard.subscribe([PREFIX + "/+/telemetry", PREFIX + "/+/status"], { qos: 1 });
});
const decoder = new TextDecoder();
dashboard.on("message", (topic: string, payload: Uint8Array, packet: { retain: boolean }) => {
  const parts = topic.split("/");
  const id = parts[1];
  const text = decoder.decode(payload);
  if (parts[2] === "status") stats.status(id, text, packet.retain);
  else if (parts[2] === "telemetry") {
    try {
      stats.telemetry(id, JSON.parse(text));
    } catch {
      // not a reading of ours
    }
  }
});
await new Promise<void>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("the dashboard could not connect to " + host + ":" + port)), 10000);
  dashboard.on("connect", () => {
    clearTimeout(timer);
    resolve();
  });
});

// ---- the fleet ----------------------------------------------------------------------------------
const startedMs = performance.now();
const exampleFile = join(ROOT, "boards", "kaluma", "example.js");
const exampleSource = readFileSync(exampleFile, "utf8");
const devices: KalumaSim[] = [];
/** What each node's own log says went wrong: readings its client reported not delivered, the last error. */
interface NodeReport {
  notDelivered: Set<number>;
  lastError: string;
}
const reports = new Map<string, NodeReport>();
/** Why readings were not delivered, as the clients said it, with counts. */
const notDeliveredWhy = new Map<string, number>();
const NOT_DELIVERED = /^reading (\d+) not delivered: (.*)$/;
function noteDeviceLine(clientId: string, line: string): void {
  let r = reports.get(clientId);
  if (!r) {
    r = { notDelivered: new Set(), lastError: "" };
    reports.set(clientId, r);
  }
  const atS = ((performance.now() - startedMs) / 1000).toFixed(1) + " s ";
  const m = NOT_DELIVERED.exec(line);
  if (m) {
    r.notDelivered.add(Number(m[1]));
    notDeliveredWhy.set(m[2], (notDeliveredWhy.get(m[2]) || 0) + 1);
    r.lastError = atS + line;
  } else if (line.startsWith("mqtt: ") || line.startsWith("telemetry: ") || line.indexOf("(trying again") >= 0) {
    // The example's error lines: the client's errors, a throwing tick, a failed Wi-Fi join.
    r.lastError = atS + line;
  }
}
function startNode(i: number): void {
  const clientId = "pico-" + String(i + 1).padStart(NODES >= 1000 ? 4 : 3, "0");
  const device = createKalumaSim({
    seed: SEED * 7919 + i,
    globals: {
      CONFIG: { host, port, ssid: "sim-ap", password: "sim-password", prefix: PREFIX, clientId, periodS: PERIOD_S, keepaliveS: KEEPALIVE_S },
    },
    wifi: { joined: false },
    temperatureC: 18 + rand.next() * 12,
    log: (line) => {
      // The example prints each connection: the ground truth for reconnects.
      if (line.startsWith("connected to")) stats.connected(clientId);
      noteDeviceLine(clientId, line);
    },
  });
  devices.push(device);
  device.run(exampleSource, exampleFile);
}
// Power-on spread over a second, as a fleet would not boot in one instant.
const bootSpreadMs = Math.min(2000, NODES * 2);
// The run (its duration and its faults) starts once every node is powered on: on a loaded
// machine, starting 1,000 devices takes far longer than the spread.
const booted = new Promise<void>((resolve) => {
  for (let i = 0; i < NODES; i++) {
    setTimeout(() => {
      startNode(i);
      if (i === NODES - 1) resolve();
    }, (i * bootSpreadMs) / NODES);
  }
});

// ---- faults on a schedule ---------------------------------------------------------------------
interface FaultRecord {
  atS: number;
  what: string;
}
const faults: FaultRecord[] = [];
const faultCounts: { [kind: string]: number } = {};
function note(kind: string, what: string): void {
  faults.push({ atS: Math.round((performance.now() - startedMs) / 100) / 10, what });
  faultCounts[kind] = (faultCounts[kind] || 0) + 1;
}
function pick(): KalumaSim | null {
  return devices.length === 0 ? null : devices[Math.floor(rand.next() * devices.length)];
}
function nodeName(d: KalumaSim): string {
  return (d.global.CONFIG as { clientId: string }).clientId;
}
let brokerRestarted = false;
const FAULTS: (() => void)[] = [
  () => {
    const d = pick();
    if (!d) return;
    // Cut inside whatever it sends next (a PUBLISH, most likely): the broker sees a reset.
    d.network.cutAllAfter(3 + Math.floor(rand.next() * 20), "reset");
    note("cut", "link of " + nodeName(d) + " cut mid-packet");
  },
  () => {
    const d = pick();
    if (!d) return;
    const ms = 2000 + Math.floor(rand.next() * 3000);
    d.setAccessPoint(false);
    setTimeout(() => d.setAccessPoint(true), ms);
    note("wifi", "Wi-Fi of " + nodeName(d) + " lost for " + (ms / 1000).toFixed(1) + " s");
  },
  () => {
    const d = pick();
    if (!d) return;
    const ms = 1000 + Math.floor(rand.next() * 2000);
    d.network.stall(ms);
    note("stall", "link of " + nodeName(d) + " stalled for " + (ms / 1000).toFixed(1) + " s");
  },
  () => {
    const d = pick();
    if (!d) return;
    d.network.faults = { chunkMin: 1, chunkMax: 3, latencyMs: 40, jitterMs: 40 };
    setTimeout(() => (d.network.faults = {}), 4000);
    note("slow", "link of " + nodeName(d) + " slow and chopped into 1-3 byte chunks for 4 s");
  },
  () => {
    const d = pick();
    if (!d) return;
    d.network.cutAll("silent");
    note("silent", "link of " + nodeName(d) + " vanished silently (half-open)");
  },
];
let faultIndex = 0;
let runStartedMs = 0;
function startFaults(): ReturnType<typeof setInterval> | null {
  if (values["no-faults"]) return null;
  return setInterval(() => {
    const elapsed = performance.now() - runStartedMs;
    if (embedded && !brokerRestarted && elapsed > DURATION_MS / 2) {
      brokerRestarted = true;
      note("restart", "broker restarted (sessions kept, down 1 s)");
      void embedded.restart(1000, true);
      return;
    }
    FAULTS[faultIndex++ % FAULTS.length]();
  }, FAULT_EVERY_MS);
}

// ---- the account of the readings ---------------------------------------------------------------
/** Readings each node has taken so far: its example's `seq`. */
function takenNow(): Map<string, number> {
  const taken = new Map<string, number>();
  for (const d of devices) taken.set(nodeName(d), Number(d.realm("typeof seq === 'number' ? seq : 0")));
  return taken;
}

interface NodeAccount {
  taken: number;
  arrived: number;
  /** Reported not delivered by the node's client, and not arrived. */
  dropped: number;
  /** Neither arrived nor reported: lost once the run has settled. */
  lost: number;
}
interface Account {
  taken: number;
  arrived: number;
  dropped: number;
  lost: number;
  nodes: Map<string, NodeAccount>;
}

/** Where every reading in `taken` is: arrived, dropped (as its node's client reported) or lost. */
function account(taken: Map<string, number>): Account {
  const total: Account = { taken: 0, arrived: 0, dropped: 0, lost: 0, nodes: new Map() };
  for (const [id, seq] of taken) {
    const n = stats.nodes.get(id);
    const r = reports.get(id);
    const a: NodeAccount = { taken: seq, arrived: 0, dropped: 0, lost: 0 };
    for (let s = 1; s <= seq; s++) {
      if (n && s < n.nextSeq && !n.missing.has(s)) a.arrived++;
      else if (r && r.notDelivered.has(s)) a.dropped++;
      else a.lost++;
    }
    total.taken += a.taken;
    total.arrived += a.arrived;
    total.dropped += a.dropped;
    total.lost += a.lost;
    total.nodes.set(id, a);
  }
  return total;
}

// ---- the screen ---------------------------------------------------------------------------
const tty = process.stdout.isTTY === true;
function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}
/** Reconnects beyond these are "many": one per broker restart, and one for a fault on the node. */
function usualReconnects(): number {
  return (faultCounts.restart || 0) + 1;
}
interface Row {
  id: string;
  online: boolean;
  messages: number;
  rate: number;
  tempC: number | null;
  reconnects: number;
  wills: number;
  lost: number;
  dropped: number;
  lastError: string;
  trouble: boolean;
}
/**
 * Every node, those in trouble first (offline, then by readings lost, dropped and reconnects),
 * then the healthy ones by name. While running, a node's newest reading is usually on its way:
 * one reading not arrived yet is not trouble until the end.
 */
function rows(a: Account, final: boolean): Row[] {
  const out: Row[] = [];
  for (const d of devices) {
    const id = nodeName(d);
    const n = stats.nodes.get(id);
    const na = a.nodes.get(id);
    const r = reports.get(id);
    const row: Row = {
      id,
      online: n ? n.online : false,
      messages: n ? n.messages : 0,
      rate: n ? stats.rate(n) : 0,
      tempC: n ? n.lastTempC : null,
      reconnects: n ? Math.max(0, n.onlineCount - 1) : 0,
      wills: n ? n.willsFired : 0,
      lost: na ? na.lost : 0,
      dropped: na ? na.dropped : 0,
      lastError: r ? r.lastError : "",
      trouble: false,
    };
    row.trouble = !row.online || row.lost > (final ? 0 : 1) || row.dropped > 0 || row.reconnects > usualReconnects();
    out.push(row);
  }
  out.sort((x, y) => {
    if (x.trouble !== y.trouble) return x.trouble ? -1 : 1;
    if (x.trouble) {
      if (x.online !== y.online) return x.online ? 1 : -1;
      if (x.lost !== y.lost) return y.lost - x.lost;
      if (x.dropped !== y.dropped) return y.dropped - x.dropped;
      if (x.reconnects !== y.reconnects) return y.reconnects - x.reconnects;
    }
    return x.id < y.id ? -1 : x.id > y.id ? 1 : 0;
  });
  return out;
}

const TABLE_ROWS = 16;
function render(final: boolean, a: Account): string {
  const t = stats.totals();
  const elapsedS = (performance.now() - startedMs) / 1000;
  const all = rows(a, final);
  const online = all.filter((r) => r.online).length;
  const inTrouble = all.filter((r) => r.trouble).length;
  const lines: string[] = [];
  lines.push(
    `mcu-mqtt fleet demo: ${NODES} simulated Pico W nodes (boards/kaluma/example.js on the Kaluma bundle) -> ` +
      (embedded ? `embedded aedes on 127.0.0.1:${port}` : `${host}:${port}`),
  );
  lines.push(
    `${final ? "finished after " + bootS.toFixed(0) + " s of power-on, " + DURATION_MS / 1000 + " s of run and " + settledS.toFixed(0) + " s of settling" : "running " + elapsedS.toFixed(0) + " s of " + DURATION_MS / 1000 + " s"}   ` +
      `online ${online}/${NODES}   received ${t.messages}   ${t.rate.toFixed(1)} msg/s   reconnects ${t.reconnects}   wills fired ${t.wills}   ` +
      `duplicates ${t.duplicates}   dropped ${a.dropped}   ${final ? "LOST " + a.lost : "not arrived yet " + a.lost}`,
  );
  lines.push("");
  lines.push("node        status   msgs   msg/s  temp °C  reconn  wills  lost  dropped  last error");
  for (const r of all.slice(0, TABLE_ROWS)) {
    lines.push(
      r.id.padEnd(11) +
        " " +
        (r.online ? "online " : "OFFLINE") +
        pad(r.messages, 7) +
        pad(r.rate.toFixed(2), 8) +
        pad(r.tempC === null ? "-" : r.tempC.toFixed(1), 9) +
        pad(r.reconnects, 8) +
        pad(r.wills, 7) +
        pad(r.lost, 6) +
        pad(r.dropped, 9) +
        "  " +
        (r.lastError.length > 60 ? r.lastError.slice(0, 57) + "..." : r.lastError),
    );
  }
  if (all.length > TABLE_ROWS) {
    lines.push(`... ${all.length - TABLE_ROWS} more nodes; ${inTrouble} in trouble (listed first: offline, readings lost or dropped, more than ${usualReconnects()} reconnects)`);
  }
  lines.push("");
  lines.push("faults injected: " + (Object.keys(faultCounts).map((k) => k + " " + faultCounts[k]).join(", ") || "none yet"));
  for (const f of faults.slice(-5)) lines.push(`  ${pad(f.atS.toFixed(1), 6)} s  ${f.what}`);
  return lines.join("\n");
}
let settledS = 0;
let bootS = 0;
let lastPlainMs = 0;
const screenTimer = setInterval(() => {
  if (tty) process.stdout.write("\x1b[H\x1b[2J" + render(false, account(takenNow())) + "\n");
  else if (performance.now() - lastPlainMs >= 5000) {
    lastPlainMs = performance.now();
    const t = stats.totals();
    const a = account(takenNow());
    let online = 0;
    for (const n of stats.nodes.values()) if (n.online) online++;
    console.log(
      `[${((performance.now() - startedMs) / 1000).toFixed(0)} s] online ${online}/${NODES} received ${t.messages} ` +
        `(${t.rate.toFixed(1)} msg/s) reconnects ${t.reconnects} wills ${t.wills} dropped ${a.dropped} not arrived yet ${a.lost} faults ${faults.length}`,
    );
  }
}, 1000);

// ---- the end --------------------------------------------------------------------------------
await booted;
runStartedMs = performance.now();
bootS = (runStartedMs - startedMs) / 1000;
const faultTimer = startFaults();
await new Promise((r) => setTimeout(r, DURATION_MS));
if (faultTimer) clearInterval(faultTimer);
// The readings counted are those taken so far; the nodes go on taking more while they settle.
const taken = takenNow();
// Settling: until every node is online and every reading counted has arrived or was reported
// dropped. A loaded machine needs longer (a reconnect backoff grows to 30 s; each of 1,000 nodes
// reconnecting after the broker restart competes for one event loop), so the wait ends only when
// nothing has improved for NO_PROGRESS_MS (a node can sit out a 30 s backoff after a connect
// timeout more than once), or at SETTLE_LIMIT_MS in all.
const NO_PROGRESS_MS = 90000;
const SETTLE_LIMIT_MS = 300000;
const settleStartMs = performance.now();
function outstanding(): number {
  let offline = NODES - devices.length;
  for (const d of devices) {
    const n = stats.nodes.get(nodeName(d));
    if (!n || !n.online) offline++;
  }
  return offline + account(taken).lost;
}
let best = outstanding();
let bestAtMs = performance.now();
while (best > 0 && performance.now() - bestAtMs < NO_PROGRESS_MS && performance.now() - settleStartMs < SETTLE_LIMIT_MS) {
  await new Promise((r) => setTimeout(r, 250));
  const now = outstanding();
  if (now < best) {
    best = now;
    bestAtMs = performance.now();
  }
}
settledS = (performance.now() - settleStartMs) / 1000;
clearInterval(screenTimer);
const final = account(taken);
const finalRows = rows(final, true);
const offline = finalRows.filter((r) => !r.online).length;
// Connected as the nodes themselves see it: tells a node that stopped trying from a status the
// dashboard has not heard yet.
let selfConnected = 0;
for (const d of devices) if (d.realm("typeof client === 'object' && client !== null && client.connected === true")) selfConnected++;

const t = stats.totals();
if (tty) process.stdout.write("\x1b[H\x1b[2J");
console.log(render(true, final));
console.log("");
console.log("summary");
console.log(`  nodes                 ${NODES} (Kaluma simulator, boards/kaluma/example.js, QoS 1 every ${PERIOD_S} s)`);
console.log(`  online at the end     ${NODES - offline}/${NODES} (${selfConnected} connected as the nodes see it), after ${settledS.toFixed(1)} s of settling`);
console.log(`  readings taken        ${final.taken} (until the end of the run; those taken while settling are not counted)`);
console.log(`  arrived               ${final.arrived} (+ ${t.duplicates} QoS 1 duplicates, counted once; ${t.messages} received in all, settling included)`);
const why = Array.from(notDeliveredWhy.entries()).map(([reason, count]) => `${count}× "${reason}"`).join(", ");
console.log(`  dropped               ${final.dropped}${final.dropped > 0 ? " (reported not delivered by the nodes' clients: " + why + ")" : ""}`);
console.log(`  lost                  ${final.lost}${final.lost === 0 ? " (none: every reading taken arrived or was reported dropped)" : " (taken, not arrived, not reported)"}`);
console.log(`  reconnects            ${t.reconnects}`);
console.log(`  wills fired           ${t.wills}`);
console.log(`  faults injected       ${faults.length}`);
console.log(`  dashboard errors      ${dashboardErrors}`);

for (const d of devices) d.dispose();
await new Promise<void>((resolve) => dashboard.end(true, () => resolve()));
if (embedded) await embedded.stop();
process.exit(final.lost === 0 && offline === 0 ? 0 : 1);
