/**
 * The demo: a fleet of simulated Pico W telemetry nodes against a broker, watched live.
 *
 * Every node is boards/kaluma/example.js itself, unmodified, running in its own simulated Kaluma
 * device (sim/kaluma.ts) on the Kaluma bundle of mcu-mqtt. A dashboard subscriber (mcu-mqtt on
 * the Node board) shows per-node rates, reconnects, wills fired and messages lost, while faults are
 * injected on a schedule: links cut mid-packet, Wi-Fi lost and back, stalls, slow and chopped
 * links, and one broker restart. It ends by itself with a summary; the exit code is 1 if a reading
 * that a node handed to its client never arrived.
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
  outboxSlots: 8,
  incomingQos2Slots: 8,
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
const exampleFile = join(ROOT, "boards", "kaluma", "example.js");
const exampleSource = readFileSync(exampleFile, "utf8");
const devices: KalumaSim[] = [];
const deviceLines: string[] = [];
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
      deviceLines.push(clientId + ": " + line);
      if (deviceLines.length > 200) deviceLines.splice(0, 100);
    },
  });
  devices.push(device);
  device.run(exampleSource, exampleFile);
}
// Power-on spread over a second, as a fleet would not boot in one instant.
const bootSpreadMs = Math.min(2000, NODES * 2);
for (let i = 0; i < NODES; i++) setTimeout(() => startNode(i), (i * bootSpreadMs) / NODES);

// ---- faults on a schedule ---------------------------------------------------------------------
interface FaultRecord {
  atS: number;
  what: string;
}
const faults: FaultRecord[] = [];
const faultCounts: { [kind: string]: number } = {};
const startedMs = performance.now();
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
const faultTimer = values["no-faults"]
  ? null
  : setInterval(() => {
      const elapsed = performance.now() - startedMs;
      if (embedded && !brokerRestarted && elapsed > DURATION_MS / 2) {
        brokerRestarted = true;
        note("restart", "broker restarted (sessions kept, down 1 s)");
        void embedded.restart(1000, true);
        return;
      }
      FAULTS[faultIndex++ % FAULTS.length]();
    }, FAULT_EVERY_MS);

// ---- the screen ---------------------------------------------------------------------------
const tty = process.stdout.isTTY === true;
function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}
function render(final: boolean): string {
  const t = stats.totals();
  const elapsedS = (performance.now() - startedMs) / 1000;
  const lines: string[] = [];
  lines.push(
    `mcu-mqtt fleet demo: ${NODES} simulated Pico W nodes (boards/kaluma/example.js on the Kaluma bundle) -> ` +
      (embedded ? `embedded aedes on 127.0.0.1:${port}` : `${host}:${port}`),
  );
  lines.push(
    `${final ? "finished after" : "running"} ${final ? DURATION_MS / 1000 : elapsedS.toFixed(0) + " s of"} ${final ? "s (and a settling wait)" : DURATION_MS / 1000 + " s"}   online ${t.online}/${NODES}   ` +
      `received ${t.messages}   ${t.rate.toFixed(1)} msg/s   reconnects ${t.reconnects}   wills fired ${t.wills}   ` +
      `duplicates ${t.duplicates}   ${final ? "LOST" : "gaps pending"} ${t.lost}`,
  );
  lines.push("");
  lines.push("node        status   msgs   msg/s  temp °C  reconn  wills  gaps");
  const rows = Array.from(stats.nodes.values()).sort((a, b) => (a.id < b.id ? -1 : 1));
  const shown = rows.length > 16 ? rows.filter((n) => !n.online || n.missing.size > 0 || n.onlineCount > 1).slice(0, 12) : rows;
  const rest = rows.length > 16 ? rows.filter((n) => shown.indexOf(n) < 0).slice(0, 16 - shown.length) : [];
  for (const n of shown.concat(rest)) {
    lines.push(
      n.id.padEnd(11) +
        " " +
        (n.online ? "online " : "OFFLINE") +
        pad(n.messages, 7) +
        pad(stats.rate(n).toFixed(2), 8) +
        pad(n.lastTempC === null ? "-" : n.lastTempC.toFixed(1), 9) +
        pad(Math.max(0, n.onlineCount - 1), 8) +
        pad(n.willsFired, 7) +
        pad(n.missing.size, 6),
    );
  }
  if (rows.length > 16) lines.push(`... ${rows.length - 16} more nodes (those with trouble are listed first)`);
  lines.push("");
  lines.push("faults injected: " + (Object.keys(faultCounts).map((k) => k + " " + faultCounts[k]).join(", ") || "none yet"));
  for (const f of faults.slice(-5)) lines.push(`  ${pad(f.atS.toFixed(1), 6)} s  ${f.what}`);
  return lines.join("\n");
}
let lastPlainMs = 0;
const screenTimer = setInterval(() => {
  if (tty) process.stdout.write("\x1b[H\x1b[2J" + render(false) + "\n");
  else if (performance.now() - lastPlainMs >= 5000) {
    lastPlainMs = performance.now();
    const t = stats.totals();
    console.log(
      `[${((performance.now() - startedMs) / 1000).toFixed(0)} s] online ${t.online}/${NODES} received ${t.messages} ` +
        `(${t.rate.toFixed(1)} msg/s) reconnects ${t.reconnects} wills ${t.wills} gaps ${t.lost} faults ${faults.length}`,
    );
  }
}, 1000);

// ---- the end --------------------------------------------------------------------------------
await new Promise((r) => setTimeout(r, DURATION_MS));
if (faultTimer) clearInterval(faultTimer);
// Every reading a node has taken so far: its example's `seq`.
const published = new Map<string, number>();
for (const d of devices) published.set(nodeName(d), Number(d.realm("typeof seq === 'number' ? seq : 0")));
// Give the nodes time to come back from the last faults and empty their outboxes.
const settleUntil = performance.now() + (KEEPALIVE_S * 2 + 8) * 1000;
function undelivered(): number {
  let missing = 0;
  for (const [id, seq] of published) {
    const n = stats.nodes.get(id);
    for (let s = 1; s <= seq; s++) if (!n || s >= n.nextSeq || n.missing.has(s)) missing++;
  }
  return missing;
}
while (performance.now() < settleUntil && undelivered() > 0) await new Promise((r) => setTimeout(r, 250));
clearInterval(screenTimer);
const lost = undelivered();
let notDelivered = 0;
for (const line of deviceLines) if (line.indexOf("not delivered") >= 0) notDelivered++;

const t = stats.totals();
if (tty) process.stdout.write("\x1b[H\x1b[2J");
console.log(render(true));
console.log("");
console.log("summary");
console.log(`  nodes                 ${NODES} (Kaluma simulator, boards/kaluma/example.js, QoS 1 every ${PERIOD_S} s)`);
console.log(`  readings taken        ${Array.from(published.values()).reduce((a, b) => a + b, 0)}`);
console.log(`  received              ${t.messages}, readings taken while settling included (+ ${t.duplicates} QoS 1 duplicates, counted once)`);
console.log(`  lost                  ${lost}${lost === 0 ? " (none: every reading taken arrived)" : ""}`);
console.log(`  reconnects            ${t.reconnects}`);
console.log(`  wills fired           ${t.wills}`);
console.log(`  faults injected       ${faults.length}`);
if (notDelivered > 0) console.log(`  refused by a node     ${notDelivered} readings (outbox full)`);
console.log(`  dashboard errors      ${dashboardErrors}`);

for (const d of devices) d.dispose();
await new Promise<void>((resolve) => dashboard.end(true, () => resolve()));
if (embedded) await embedded.stop();
process.exit(lost === 0 ? 0 : 1);
