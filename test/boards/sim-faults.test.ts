/**
 * The client on each simulated runtime against an in-process aedes broker, under each fault the
 * simulator injects: no QoS 1 message is lost, either way.
 *
 * Each scenario: a device (persistent session, keepalive 1 s) subscribes at QoS 1, then publishes
 * N QoS 1 messages (small ones, and every fifth large enough to span several chunks) while the
 * test publishes M QoS 1 messages to it through the broker; the fault strikes along the way.
 * Passes when the broker has every one of the device's messages, the device every one of the
 * broker's, every publish callback has reported success, and the device threw nothing.
 * Duplicates are allowed (QoS 1 is at least once); losses are not.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TestBroker } from "../../sim/broker.ts";
import type { CutMode, FaultPlan } from "../../sim/network.ts";
import { deviceErrors, LINK_FAILURES, makeDevice, payloadText, sleep, until, type Device, type Runtime } from "./helpers.ts";

const OUT = 30; // device → broker
const IN = 20; // broker → device

interface Fault {
  name: string;
  /** Faults on every link from the start. */
  plan?: FaultPlan;
  /** Strikes once the device has published `at` messages. */
  strike?: (device: Device, broker: TestBroker) => Promise<void> | void;
  at?: number;
  /** Device options (the simulator's). */
  device?: object;
  /** What to check about reconnections: the number of CONNECTs the broker accepted. */
  connects?: (n: number) => boolean;
  only?: Runtime;
  /** The broker's messages to the device start after the strike (a broker that forgets). */
  inboundAfterStrike?: boolean;
}

function dropMidPacket(mode: CutMode): Fault["strike"] {
  // 700 bytes into what the device sends next: inside a PUBLISH.
  return (device) => device.network.cutAllAfter(700, mode);
}

const faults: Fault[] = [
  { name: "1-byte chunks", plan: { chunkMin: 1, chunkMax: 1 }, connects: (n) => n === 1 },
  { name: "chunks of 1 to 7 bytes", plan: { chunkMin: 1, chunkMax: 7 }, connects: (n) => n === 1 },
  { name: "coalescing", plan: { coalesceMs: 40 }, connects: (n) => n === 1 },
  { name: "latency with jitter", plan: { latencyMs: 60, jitterMs: 40 }, connects: (n) => n === 1 },
  { name: "a send buffer that fills and drains slowly", plan: { txBytesPerTick: 150, txTickMs: 10 } },
  // Slower than Kaluma's pacing: lwIP's buffer overruns, the write fails (errno) and the
  // connection is lost, the outbox resends after the reconnection; Espruino waits for 'drain'.
  { name: "a link far slower than the pacing (5 KB/s)", plan: { txBytesPerTick: 50, txTickMs: 10 } },
  {
    // keepalive 1 s: the PINGRESP is due 1 s after the PINGREQ, whenever in the stall it went.
    name: "a stall shorter than the ping deadline",
    at: 8,
    strike: (device) => device.network.stall(600),
    connects: (n) => n === 1,
  },
  {
    name: "a stall longer than the ping deadline",
    at: 8,
    strike: (device) => device.network.stall(3000),
    connects: (n) => n >= 2,
  },
  { name: "the link dropped mid-packet, silently", at: 10, strike: dropMidPacket("silent"), connects: (n) => n >= 2 },
  { name: "the link dropped mid-packet, with a reset", at: 10, strike: dropMidPacket("reset"), connects: (n) => n >= 2, only: "espruino" },
  {
    name: "Wi-Fi lost and back",
    at: 10,
    strike: async (device) => {
      device.setAccessPoint(false);
      await sleep(1500);
      device.setAccessPoint(true);
    },
    connects: (n) => n >= 2,
  },
  {
    name: "Wi-Fi lost and back, sockets dying silently",
    at: 10,
    device: { wifiLoss: "silent" },
    strike: async (device) => {
      device.setAccessPoint(false);
      await sleep(1500);
      device.setAccessPoint(true);
    },
    connects: (n) => n >= 2,
    only: "espruino",
  },
  {
    name: "broker restart, sessions kept",
    at: 10,
    strike: (_device, broker) => broker.restart(500, true),
    connects: (n) => n >= 2,
  },
  {
    // The broker forgets the session and whatever it had in flight to the device: only the
    // messages it is given after the device has subscribed again can be owed to it.
    name: "broker restart, sessions lost",
    at: 10,
    strike: (_device, broker) => broker.restart(500, false),
    inboundAfterStrike: true,
    connects: (n) => n >= 2,
  },
];

function payload(seq: number): string {
  // Every fifth message spans several chunks (536 bytes on Espruino, a TCP segment on Kaluma).
  const size = seq % 5 === 0 ? 1500 : 120;
  const head = JSON.stringify({ seq }) + " ";
  return head + "x".repeat(size - head.length);
}

async function scenario(runtime: Runtime, fault: Fault, seed: number): Promise<void> {
  const broker = await TestBroker.start();
  const clientId = runtime + "-" + fault.name.replace(/[^a-z0-9]+/gi, "-");
  const inTopic = "in/" + clientId;
  const outTopic = "out/" + clientId;
  const device = makeDevice(runtime, { seed, faults: fault.plan, ...(fault.device || {}) });
  const mq: any = device.require("mcu-mqtt");
  const received = new Set<number>();
  const acked = new Set<number>();
  const errors: string[] = [];
  const client = mq.connect({
    host: "127.0.0.1",
    port: broker.port,
    clientId,
    clean: false,
    keepalive: 1,
    connectTimeoutMs: 2000,
    reconnect: { minMs: 50, maxMs: 400 },
    // Room for every message of the run while the link is down (a few KB by default).
    outboxBytes: 32768,
    // Kaluma checks the Wi-Fi link after a failed connection and joins again; an Espruino
    // station joins again by itself.
    wifi: runtime === "kaluma" ? { ssid: "sim-ap", password: "sim-password" } : undefined,
  });
  const seen: string[] = [];
  client.on("error", (err: Error & { code: number }) => {
    seen.push(err.message);
    // Connection failures are expected under faults; anything else is not.
    if (LINK_FAILURES.indexOf(err.code) < 0) errors.push(err.message);
  });
  client.on("message", (topic: string, payload: string | Uint8Array) => {
    if (topic === inTopic) received.add(JSON.parse(payloadText(payload).split(" ")[0]).seq);
  });
  try {
    client.subscribe(inTopic, { qos: 1 });
    await until(() => broker.subscribed(clientId, inTopic), "the subscription", 5000);

    // The broker's messages to the device, published only while its session is held (a broker
    // restart forgets it: the device subscribes again on reconnecting).
    let sentIn = 0;
    let struck = false;
    const inbound = (async () => {
      while (fault.inboundAfterStrike && !struck) await sleep(20);
      while (sentIn < IN) {
        if (broker.running && broker.subscribed(clientId, inTopic)) {
          sentIn++;
          await broker.publish(inTopic, JSON.stringify({ seq: sentIn }) + " in", 1).catch(() => sentIn--);
        }
        await sleep(40);
      }
    })();

    for (let seq = 1; seq <= OUT; seq++) {
      if (fault.strike && seq === (fault.at || 1)) {
        await fault.strike(device, broker);
        struck = true;
      }
      const n = seq;
      client.publish(outTopic, payload(n), { qos: 1 }, (err: Error | null) => {
        if (err) errors.push("publish " + n + ": " + err.message);
        else acked.add(n);
      });
      await sleep(25);
    }
    await inbound;

    const outSeen = () => new Set(broker.on(outTopic).map((m) => JSON.parse(m.payload.toString().split(" ")[0]).seq));
    await until(() => outSeen().size === OUT && acked.size === OUT && received.size === IN, "every message both ways", 20000).catch((e) => {
      throw new Error(
        e.message + ": broker has " + outSeen().size + "/" + OUT + ", acked " + acked.size + ", device has " + received.size + "/" + IN +
          ", connects " + broker.connects.filter((c) => c === clientId).length + ", connected " + client.connected +
          "\nerrors: " + errors.join("; ") + "\nclient errors: " + seen.slice(-12).join("; ") + "\ndevice: " + deviceErrors(device).join("\n") + "\nlog: " + device.logs.slice(-10).join("\n"),
      );
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(deviceErrors(device), []);
    for (const m of broker.on(outTopic)) assert.equal(m.qos, 1);
    const connects = broker.connects.filter((c) => c === clientId).length;
    if (fault.connects) assert.ok(fault.connects(connects), "connections made: " + connects);
    if (runtime === "kaluma") assert.ok((device as any).stats.maxWriteBytes <= 1024, "Kaluma writes of at most 1 KB");
    else assert.equal((device as any).stats.nonStringWrites, 0, "Espruino writes binary strings only");
  } finally {
    client.end();
    device.dispose();
    await broker.stop();
  }
}

describe("the client under faults", { concurrency: true }, () => {
  for (const runtime of ["kaluma", "espruino"] as Runtime[]) {
    describe("no QoS 1 message lost on " + runtime + " under", { concurrency: true }, () => {
      let seed = runtime === "kaluma" ? 100 : 200;
      for (const fault of faults) {
        if (fault.only && fault.only !== runtime) continue;
        const s = seed++;
        it(fault.name, () => scenario(runtime, fault, s));
      }
    });
  }

  describe("Kaluma: a burst over a link slower than the pacing", { concurrency: true }, () => {
    it("overruns lwIP's buffer, loses the connection, and loses no message", async () => {
      const broker = await TestBroker.start();
      const device = makeDevice("kaluma", { seed: 9, faults: { txBytesPerTick: 50, txTickMs: 10 } });
      const mq: any = device.require("mcu-mqtt");
      const client = mq.connect({
        host: "127.0.0.1",
        port: broker.port,
        clientId: "kaluma-burst",
        clean: false,
        keepalive: 5,
        reconnect: { minMs: 50, maxMs: 400 },
        outboxBytes: 40000,
      });
      client.on("error", () => {});
      try {
        await until(() => client.connected, "connected");
        const acked = new Set<number>();
        for (let i = 1; i <= 20; i++) {
          client.publish("burst", JSON.stringify({ seq: i }) + " ".repeat(1500), { qos: 1 }, (err: Error | null) => {
            if (!err) acked.add(i);
          });
        }
        await until(() => acked.size === 20, "20 acknowledgements", 20000);
        const seen = new Set(broker.on("burst").map((m) => JSON.parse(m.payload.toString()).seq));
        assert.equal(seen.size, 20);
        const stats = (device as any).stats;
        assert.ok(stats.failedWrites >= 1, "the burst overran lwIP's send buffer");
        assert.ok(broker.connects.length <= 5, "the rate came down within a few connections: " + broker.connects.length);
        assert.deepEqual(deviceErrors(device), []);
      } finally {
        client.end();
        device.dispose();
        await broker.stop();
      }
    });
  });
});
