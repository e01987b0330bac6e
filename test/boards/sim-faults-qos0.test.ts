/**
 * The QoS 0-only client (each runtime's qos0 build, loaded as a device would load it) against an
 * in-process aedes broker under the simulator's faults.
 *
 * QoS 0 promises at most once, so the checks are what it does promise: no message arrives twice
 * or garbled; a publish the client took (its callback heard no error) reaches the broker while
 * the link holds (for faults that leave the connection up, every accepted message both ways
 * arrives); after a fault that breaks the link the client reconnects, subscribes again, and
 * messages flow both ways (the test waits for 'drain' as an application should); the device
 * throws nothing and writes only what its runtime accepts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TestBroker } from "../../sim/broker.ts";
import type { FaultPlan } from "../../sim/network.ts";
import { ERR_BUSY, ERR_NOT_CONNECTED } from "../../src/status.ts";
import { deviceErrors, LINK_FAILURES, makeDevice, payloadText, sleep, until, type Device, type Runtime } from "./helpers.ts";

const OUT = 20;
const IN = 15;
const TAIL = 5;

interface Fault {
  name: string;
  plan?: FaultPlan;
  strike?: (device: Device, broker: TestBroker) => Promise<void> | void;
  /** The fault breaks the link: messages in flight may be lost, a reconnect follows. */
  breaks: boolean;
}

const faults: Fault[] = [
  { name: "1-byte chunks", plan: { chunkMin: 1, chunkMax: 1 }, breaks: false },
  { name: "coalescing with latency", plan: { coalesceMs: 40, latencyMs: 30, jitterMs: 20 }, breaks: false },
  { name: "a send buffer that fills and drains slowly", plan: { txBytesPerTick: 150, txTickMs: 10 }, breaks: false },
  { name: "a stall longer than the ping deadline", strike: (d) => d.network.stall(3000), breaks: true },
  { name: "the link dropped mid-packet", strike: (d) => d.network.cutAllAfter(700, "silent"), breaks: true },
  {
    name: "Wi-Fi lost and back",
    strike: async (d) => {
      d.setAccessPoint(false);
      await sleep(1500);
      d.setAccessPoint(true);
    },
    breaks: true,
  },
  { name: "broker restart", strike: (_d, b) => b.restart(500, false), breaks: true },
];

function payload(seq: number, dir: string): string {
  // Every fifth message spans several chunks (536 bytes on Espruino, a TCP segment on Kaluma).
  const head = JSON.stringify({ seq, dir }) + " ";
  return head + "x".repeat((seq % 5 === 0 ? 1500 : 100) - head.length);
}

function seqOf(data: string | Uint8Array, dir: string): number {
  const text = payloadText(data);
  const head = JSON.parse(text.split(" ")[0]);
  assert.equal(head.dir, dir);
  assert.equal(text, payload(head.seq, dir), "the payload arrived whole");
  return head.seq;
}

async function scenario(runtime: Runtime, fault: Fault, seed: number): Promise<void> {
  const broker = await TestBroker.start();
  const clientId = "q0-" + runtime + "-" + fault.name.replace(/[^a-z0-9]+/gi, "-");
  const inTopic = "in/" + clientId;
  const outTopic = "out/" + clientId;
  const device = makeDevice(runtime, { seed, faults: fault.plan });
  const mq: any = device.require(runtime === "espruino" ? "mcu-mqtt-qos0" : "mcu-mqtt/qos0");
  const received: number[] = [];
  const accepted = new Set<number>();
  const refused: string[] = [];
  const unexpected: string[] = [];
  const client = mq.connect({
    host: "127.0.0.1",
    port: broker.port,
    clientId,
    keepalive: 1,
    connectTimeoutMs: 2000,
    reconnect: { minMs: 50, maxMs: 400 },
    // Kaluma checks the Wi-Fi link after a failed connection and joins again; an Espruino
    // station joins again by itself.
    wifi: runtime === "kaluma" ? { ssid: "sim-ap", password: "sim-password" } : undefined,
  });
  const expected = LINK_FAILURES.concat([ERR_NOT_CONNECTED, ERR_BUSY]);
  client.on("error", (err: Error & { code: number }) => {
    // Losing the link (and refusing QoS 0 messages meanwhile) is expected under faults.
    if (expected.indexOf(err.code) < 0) unexpected.push(err.message);
  });
  client.on("message", (topic: string, data: string | Uint8Array) => {
    if (topic === inTopic) received.push(seqOf(data, "in"));
  });
  let seq = 0;
  let drains = 0;
  let onDrain: (() => void) | null = null;
  client.on("drain", () => {
    drains++;
    if (onDrain) onDrain();
  });
  /** Resolves at the first 'drain' after the `seen`th. */
  const drained = (seen: number) =>
    new Promise<void>((resolve, reject) => {
      if (drains > seen) return resolve();
      const t = setTimeout(() => reject(new Error("no 'drain' within 10 s (refused: " + refused.join(", ") + ")")), 10000);
      onDrain = () => {
        onDrain = null;
        clearTimeout(t);
        resolve();
      };
    });
  /**
   * One message out. false from publish means "taken, wait for drain" or refused: the callback
   * tells which. With `paced`, the caller honours the backpressure as an application should:
   * after false it waits for 'drain', and a message refused because the link was busy (ERR_BUSY)
   * is published again after it.
   */
  const publishOut = async (paced = false) => {
    seq++;
    const n = seq;
    for (;;) {
      const seen = drains;
      let code = 0;
      const taken = client.publish(outTopic, payload(n, "out"), (err: (Error & { code: number }) | null) => {
        if (!err) accepted.add(n);
        else {
          code = err.code;
          refused.push(n + ": " + err.code);
          if (expected.indexOf(err.code) < 0) unexpected.push("publish " + n + ": " + err.message);
        }
      });
      if (!paced || taken) return;
      await drained(seen);
      if (code !== ERR_BUSY) return;
    }
  };
  let sentIn = 0;
  const publishIn = async () => {
    if (!broker.running || !broker.subscribed(clientId, inTopic)) return false;
    sentIn++;
    await broker.publish(inTopic, payload(sentIn, "in"), 0);
    return true;
  };
  try {
    client.subscribe(inTopic);
    await until(() => broker.subscribed(clientId, inTopic), "the subscription", 5000);
    for (let i = 0; i < OUT; i++) {
      if (fault.strike && i === 8) await fault.strike(device, broker);
      await publishOut();
      if (i < IN) await publishIn();
      await sleep(25);
    }
    const outSeqs = () => broker.on(outTopic).map((m) => seqOf(m.payload, "out"));
    if (!fault.breaks) {
      await until(() => outSeqs().length === accepted.size && received.length === sentIn, "every accepted message both ways", 10000).catch((e) => {
        throw new Error(e.message + ": broker " + outSeqs().length + "/" + accepted.size + ", device " + received.length + "/" + sentIn);
      });
      assert.equal(sentIn, IN);
      assert.equal(broker.connects.filter((c) => c === clientId).length, 1, "the link held");
    }
    // After the fault (if any), the client is back and subscribed: the next messages flow both ways.
    // A broken link is noticed only at the ping deadline: until the broker has seen the second
    // connection, a message may still go into the dead one (and be lost, as QoS 0 allows).
    const connects = () => broker.connects.filter((c) => c === clientId).length;
    if (fault.breaks) await until(() => connects() >= 2, "a reconnection", 15000);
    await until(() => client.connected && broker.subscribed(clientId, inTopic), "connected and subscribed again", 15000);
    const tailFrom = seq + 1;
    const inFrom = sentIn + 1;
    for (let i = 0; i < TAIL; i++) {
      await publishOut(true);
      await publishIn();
      await sleep(25);
    }
    await until(
      () => outSeqs().filter((s) => s >= tailFrom).length === TAIL && received.filter((s) => s >= inFrom).length === TAIL,
      "the messages after recovery, both ways",
      10000,
    ).catch((e) => {
      throw new Error(
        e.message + ": broker has " + outSeqs().filter((s) => s >= tailFrom).length + "/" + TAIL + " (accepted " +
          [...accepted].filter((s) => s >= tailFrom).length + "; refused, with codes: " + refused.join(", ") + "), device has " + received.filter((s) => s >= inFrom).length + "/" + TAIL +
          " (broker sent " + (sentIn - inFrom + 1) + "), connected " + client.connected + ", subscribed " + broker.subscribed(clientId, inTopic) +
          ", connects " + broker.connects.filter((c) => c === clientId).length + "\ndevice: " + deviceErrors(device).join("\n") + "\nlog: " + device.logs.slice(-10).join("\n"),
      );
    });
    const out = outSeqs();
    assert.equal(new Set(out).size, out.length, "no message reached the broker twice");
    assert.equal(new Set(received).size, received.length, "no message reached the device twice");
    for (const s of out) assert.ok(accepted.has(s), "message " + s + " arrived though publish() refused it");
    assert.deepEqual(unexpected, []);
    assert.deepEqual(deviceErrors(device), []);
    if (runtime === "kaluma") assert.ok((device as any).stats.maxWriteBytes <= 1024, "Kaluma writes of at most 1 KB");
    else assert.equal((device as any).stats.nonStringWrites, 0, "Espruino writes binary strings only");
  } finally {
    client.end();
    device.dispose();
    await broker.stop();
  }
}

describe("the QoS 0-only client under faults", { concurrency: true }, () => {
  for (const runtime of ["kaluma", "espruino"] as Runtime[]) {
    describe(runtime, { concurrency: true }, () => {
      let seed = runtime === "kaluma" ? 300 : 400;
      for (const fault of faults) {
        const s = seed++;
        it(fault.name, () => scenario(runtime, fault, s));
      }
    });
  }
});
