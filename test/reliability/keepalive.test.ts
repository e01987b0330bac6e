/**
 * Keepalive against a dead path: the fault proxy black-holes both directions (nothing closes, as
 * with a dead Wi-Fi link). The client must notice within keepalive + pingTimeoutMs by the real
 * clock, and when the path comes back it must connect once and stay connected, with no loop of
 * reconnects.
 */
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { connect } from "../../boards/node/index.ts";
import type { Client, MqttError } from "../../src/client.ts";
import { ERR_PING_TIMEOUT } from "../../src/status.ts";
import { startFaultProxy, type FaultProxy } from "../../sim/fault-proxy.ts";
import { HOST, sleep, startAedes, waitFor, type RunningBroker } from "../helpers/brokers.ts";

const KEEPALIVE_S = 1;
const PING_TIMEOUT_MS = 1000;
/** Timers, socket closes and a loaded machine: how late detection may be beyond the bound. */
const MARGIN_MS = 1500;

interface Recorder {
  events: { name: string; atMs: number; detail?: string }[];
  count(name: string, sinceMs: number): number;
  errors: MqttError[];
}

function record(client: Client): Recorder {
  const rec: Recorder = {
    events: [],
    errors: [],
    count: (name, sinceMs) => rec.events.filter((e) => e.name === name && e.atMs >= sinceMs).length,
  };
  for (const name of ["connect", "reconnect", "close", "offline"]) {
    client.on(name, () => rec.events.push({ name, atMs: Date.now() }));
  }
  client.on("error", (err: MqttError) => {
    rec.errors.push(err);
    rec.events.push({ name: "error", atMs: Date.now(), detail: err.message });
  });
  return rec;
}

function timeline(rec: Recorder, originMs: number): string {
  return rec.events.map((e) => e.name + "@" + (e.atMs - originMs) + (e.detail ? "(" + e.detail + ")" : "")).join(" ");
}

async function setup(): Promise<{ broker: RunningBroker; proxy: FaultProxy; client: Client; rec: Recorder }> {
  const broker = await startAedes();
  const proxy = await startFaultProxy({ targetPort: broker.port });
  const client = connect({
    host: HOST,
    port: proxy.port,
    keepalive: KEEPALIVE_S,
    pingTimeoutMs: PING_TIMEOUT_MS,
    connectTimeoutMs: 1500,
    reconnect: { minMs: 300, maxMs: 600, stableMs: 1000 },
  });
  const rec = record(client);
  await waitFor(() => rec.count("connect", 0) === 1, 5000, "the first connection", () => timeline(rec, 0));
  return { broker, proxy, client, rec };
}

async function teardown(s: { broker: RunningBroker; proxy: FaultProxy; client: Client }): Promise<void> {
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 3000);
    s.client.end(true, () => {
      clearTimeout(t);
      resolve();
    });
  });
  await s.proxy.close();
  await s.broker.close();
}

test("a black-holed link is detected within keepalive + pingTimeoutMs; its return brings one reconnect", { timeout: 30000 }, async () => {
  const s = await setup();
  const { proxy, client, rec } = s;
  try {
    // Some traffic first, then an idle stretch, so the next packet out is the keepalive PINGREQ.
    await new Promise<void>((resolve) => client.publish("ka/warmup", "x", { qos: 1 }, () => resolve()));
    await sleep(300);
    const holeMs = Date.now();
    proxy.blackhole(true);
    await waitFor(() => rec.errors.length > 0, KEEPALIVE_S * 1000 + PING_TIMEOUT_MS + MARGIN_MS + 2000, "the dead link to be noticed", () =>
      timeline(rec, holeMs),
    );
    const detectedMs = rec.events.find((e) => e.name === "error" && e.atMs >= holeMs)!.atMs - holeMs;
    proxy.blackhole(false);
    const releaseMs = Date.now();
    assert.equal(rec.errors[0].code, ERR_PING_TIMEOUT, rec.errors[0].message);
    assert.ok(
      detectedMs <= KEEPALIVE_S * 1000 + PING_TIMEOUT_MS + MARGIN_MS,
      "noticed after " + detectedMs + " ms; the bound is " + (KEEPALIVE_S * 1000 + PING_TIMEOUT_MS) + " ms + " + MARGIN_MS + " ms margin",
    );
    // A PINGREQ goes out at the latest keepalive after the last packet; its answer cannot be
    // missed sooner than pingTimeoutMs after that.
    assert.ok(detectedMs >= PING_TIMEOUT_MS - 100, "noticed after only " + detectedMs + " ms");

    // The path is back: one new connection, then quiet for several keepalive periods.
    await waitFor(() => rec.count("connect", releaseMs) >= 1, 5000, "the reconnection", () => timeline(rec, holeMs));
    await sleep(4 * KEEPALIVE_S * 1000 + PING_TIMEOUT_MS);
    const detail = timeline(rec, holeMs);
    assert.equal(rec.count("connect", releaseMs), 1, "connects after the release: " + detail);
    assert.equal(rec.count("reconnect", holeMs), 1, "reconnect attempts: " + detail);
    assert.equal(rec.errors.length, 1, "errors: " + detail);
    assert.equal(rec.count("offline", holeMs), 1, "offline events: " + detail);
    assert.equal(client.connected, true);
    assert.equal(proxy.stats.accepted, 2);
    // And it still works.
    const err = await new Promise<MqttError | null>((resolve) => client.publish("ka/after", "y", { qos: 1 }, resolve));
    assert.equal(err, null);
  } finally {
    await teardown(s);
  }
});

test("after a black hole that outlasts several attempts, the client connects once and stays", { timeout: 30000 }, async () => {
  const s = await setup();
  const { proxy, client, rec } = s;
  try {
    await sleep(200);
    const holeMs = Date.now();
    proxy.blackhole(true);
    await waitFor(() => rec.errors.length > 0, KEEPALIVE_S * 1000 + PING_TIMEOUT_MS + MARGIN_MS + 2000, "the dead link to be noticed", () =>
      timeline(rec, holeMs),
    );
    // Attempts during the hole get no CONNACK: each ends at the connect timeout.
    await waitFor(() => rec.count("reconnect", holeMs) >= 2 && rec.errors.length >= 2, 10000, "attempts that time out", () => timeline(rec, holeMs));
    proxy.blackhole(false);
    const releaseMs = Date.now();
    await waitFor(() => rec.count("connect", releaseMs) >= 1, 6000, "the reconnection", () => timeline(rec, holeMs));
    const connectedMs = rec.events.filter((e) => e.name === "connect" && e.atMs >= releaseMs)[0].atMs;
    await sleep(4 * KEEPALIVE_S * 1000 + PING_TIMEOUT_MS);
    const detail = timeline(rec, holeMs);
    assert.equal(rec.count("connect", releaseMs), 1, "connects after the release: " + detail);
    assert.equal(rec.count("reconnect", connectedMs), 0, "reconnects once connected: " + detail);
    assert.equal(rec.count("error", connectedMs), 0, "errors once connected: " + detail);
    assert.ok(rec.count("reconnect", releaseMs) <= 1, "at most the one attempt that connected: " + detail);
    assert.equal(client.connected, true);
  } finally {
    await teardown(s);
  }
});
