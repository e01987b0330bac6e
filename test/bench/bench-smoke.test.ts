// The benchmark's code paths, bounded: a few hundred messages through every run of bench/run.ts
// (throughput per QoS and the 16 KB case, latency, garbage, footprint), against mosquitto when it
// is installed and aedes in-process otherwise. It checks that every message arrived and that the
// tables and the chart were written, never how fast anything was.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Aedes } from "aedes";
import { mosquittoAvailable } from "../../bench/broker.ts";
import { KINDS } from "../../bench/kinds.ts";
import { defaultOptions, runBench } from "../../bench/run.ts";

const root = new URL("../..", import.meta.url).pathname;

async function startAedes(): Promise<{ url: string; close(): Promise<void> }> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: "mqtt://127.0.0.1:" + port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

test("bench: every run of the benchmark, a few hundred messages each", { timeout: 300000 }, async (t) => {
  const useMosquitto = mosquittoAvailable();
  let aedes: { url: string; close(): Promise<void> } | null = null;
  if (!useMosquitto) {
    t.diagnostic("mosquitto not installed: running on aedes; the TCP_NODELAY throughput runs (a second mosquitto) are skipped");
    aedes = await startAedes();
  }
  const outDir = mkdtempSync(join(tmpdir(), "mcu-mqtt-bench-smoke-"));
  const o = defaultOptions(true);
  o.brokerUrl = aedes ? aedes.url : undefined;
  o.runs = 1;
  o.outDir = outDir;
  o.counts = { qos0: 300, qos1: 200, qos2: 200, big: 30 };
  o.latency = { ratePerSec: 500, durationMs: 400, qos: [0, 1] };
  o.garbage = { warm: 200, messages: 300, receiveRatePerSec: 5000 };
  o.engineMessages = 300;
  o.buildBundles = !existsSync(join(root, "dist/core/mcu-mqtt-core.es5.js")) || !existsSync(join(root, "dist/core/mcu-mqtt-core.es2019.js"));
  o.log = () => {};
  try {
    const r = await runBench(o);

    // Throughput: every kind, every case, every message (throughput() throws on a missing one).
    assert.equal(r.throughput.length, 4);
    for (const c of r.throughput.concat(r.throughputNoDelay)) {
      for (const k of KINDS) {
        assert.equal(c.runs[k].length, 1, c.name + " " + k);
        assert.equal(c.runs[k][0].received, c.count, c.name + " " + k + ": every message arrived");
      }
    }
    if (useMosquitto) assert.equal(r.throughputNoDelay.length, 3);
    else assert.equal(r.throughputNoDelay.length, 0);

    // Latency: every message arrived, for every kind.
    assert.equal(r.latency.length, 2);
    for (const l of r.latency) for (const k of KINDS) assert.equal(l.runs[k][0].received, l.runs[k][0].count, "latency QoS " + l.qos + " " + k);

    // Garbage: the rows are there and are numbers.
    assert.equal(r.garbage.length, 1);
    const rows = r.garbage[0];
    assert.equal(rows.filter((x) => x.side === "publish").length, 1 + 2 * KINDS.length);
    assert.equal(rows.filter((x) => x.side === "receive").length, 2 * KINDS.length);
    for (const x of rows) assert.ok(Number.isFinite(x.bytesPerMessage), x.kind + " " + x.side + " QoS " + x.qos);
    assert.equal(r.alone[0].length, 13);

    // Footprint.
    assert.equal(r.bundles.length, 6);
    for (const b of r.bundles) assert.ok(b.bytes !== null && b.bytes > 0, b.file + " was sized");
    assert.ok(r.node && r.node.typedTotal > 0);
    const quickjs = r.engines.find((e) => e.engine.startsWith("QuickJS"));
    assert.ok(quickjs && quickjs.clientBytes !== null && quickjs.clientBytes > 0, "QuickJS footprint: " + JSON.stringify(quickjs));
    const duk = r.engines.find((e) => e.engine.startsWith("duktape"));
    if (duk && duk.error) t.diagnostic("duktape footprint skipped: " + duk.error);

    // The tables and the chart were written.
    const md = readFileSync(join(outDir, "RESULTS.md"), "utf8");
    for (const heading of ["## Machine", "## Targets", "## Throughput", "## Latency", "## Garbage per message", "## Footprint", "## Method"]) {
      assert.ok(md.includes(heading), "RESULTS.md has " + heading);
    }
    for (const name of ["QoS 0", "QoS 1", "QoS 2", "QoS 0, 16 KB"]) assert.ok(md.includes("| " + name + " |"), "throughput row " + name);
    const svg = readFileSync(join(outDir, "throughput.svg"), "utf8");
    assert.match(svg, /^<svg /);
    assert.match(svg, /<\/svg>\s*$/);
    assert.equal((svg.match(/<rect x="[^"]+" y="[^"]+" width="44"/g) || []).length, 12, "three bars in each of four panels");
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    if (aedes) await aedes.close();
  }
});
