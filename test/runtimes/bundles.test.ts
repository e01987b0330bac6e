/**
 * Each board bundle on the real interpreters (../shared/tools), at the sizes of issue 11: loaded,
 * connected to mosquitto on 127.0.0.1, subscribed to two filters, its own messages back one at a
 * time, ended. Pass or fail on behaviour only: the memory figures are measured by
 * `npm run footprint`, not asserted here.
 *
 * - Espruino from Storage (as the `espruino` CLI's `--storage` or the IDE's Storage upload leave
 *   it): both bundles on espruino-1700 (an ESP8266), the full one on espruino-5100 too.
 * - Espruino as IDE text (`Modules.addCached` + sketch): both bundles on espruino-5100. (Issue
 *   11 asks for the QoS 0 build as text on espruino-1700: it runs out of memory there and on
 *   espruino-2500, as Espruino's own MQTT module does at 1,700 in the same harness; the
 *   footprint table shows it.)
 * - On espruino-5100 the sketch then publishes a 16 KB QoS 0 reading at default options, which a
 *   reader in Node checks byte for byte (an ESP8266 has no room for a 16 KB string at all).
 * - Kaluma 1.2.1 with the Pico W heap, through kaluma-bridge.mjs: both bundles, with a 16 KB
 *   QoS 0 payload to itself after the messages.
 *
 * MCU_MQTT_RUNTIME_MESSAGES sets the message count (default 100: the interpreters run emulated).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import mqtt from "mqtt";
import * as L from "../../bench/real-lib.ts";
import { startMosquitto, waitFor, type RunningMosquitto } from "../helpers/brokers.ts";
import { needRuntimes, runtimesWhyNot } from "./support.ts";

const MESSAGES = Math.max(2, +(process.env.MCU_MQTT_RUNTIME_MESSAGES || 100));

let broker: RunningMosquitto | null = null;
before(async () => {
  if (!runtimesWhyNot()) broker = await startMosquitto();
});
after(async () => {
  if (broker) await broker.close();
});

function describeFailure(o: { why: string; run: L.Run }): string {
  return o.why + "\n--- output ---\n" + o.run.out.slice(-1500) + "\n--- stderr ---\n" + o.run.err.slice(-800);
}

/** The size of the large QoS 0 reading: larger than every buffer a board bundle has by default. */
const BIG = 16384;

/** Subscribes from Node to `topic`; `first(ms)` gives the first payload seen there. */
async function readOne(port: number, topic: string): Promise<{ first: (ms: number) => Promise<Buffer>; close: () => Promise<void> }> {
  const reader = await mqtt.connectAsync({ host: "127.0.0.1", port, clientId: "rt-reader-" + process.pid + "-" + seq++, reconnectPeriod: 0 });
  let got: Buffer | null = null;
  reader.on("message", (t, p) => {
    if (t === topic && !got) got = p;
  });
  await reader.subscribeAsync(topic, { qos: 0 });
  const first = async (ms: number): Promise<Buffer> => {
    await waitFor(() => got !== null, ms, "a message on " + topic);
    return got!;
  };
  return { first, close: () => reader.endAsync() };
}

let seq = 0;
const id = (what: string) => "rt-" + what + "-" + process.pid + "-" + seq++;

describe("board bundles on the real interpreters", { concurrency: 2 }, () => {
  const espruino: { build: L.Build; binary: string; load: "storage" | "text" }[] = [
    { build: "full", binary: "espruino-1700", load: "storage" },
    { build: "qos0", binary: "espruino-1700", load: "storage" },
    { build: "full", binary: "espruino-5100", load: "storage" },
    { build: "full", binary: "espruino-5100", load: "text" },
    { build: "qos0", binary: "espruino-5100", load: "text" },
  ];
  for (const c of espruino) {
    const B = L.ESPRUINO_BUNDLES[c.build];
    it("Espruino " + c.binary + ", " + (c.load === "storage" ? "from Storage" : "as IDE text") + ": " + B.file.slice(L.ROOT.length + 1), async (t) => {
      if (!needRuntimes(t)) return;
      const big = c.binary === "espruino-5100" ? BIG : 0;
      const scenario = { name: B.name, port: broker!.port, clientId: id("esp"), qos: B.qos, messages: MESSAGES, marks: [], bigPayload: big };
      const reader = big ? await readOne(broker!.port, "rt/" + scenario.clientId + "/big") : null;
      let o: L.EspruinoOutcome;
      try {
        if (c.load === "storage") {
          const d = L.storageDir(await L.storageImage(B.name, B.file));
          try {
            o = L.parseEspruino(await L.runEspruino(c.binary, L.espruinoSketch(scenario), d.dir, 240));
          } finally {
            d.cleanup();
          }
        } else {
          const d = L.tempDir("mcu-mqtt-text-");
          try {
            o = L.parseEspruino(await L.runEspruino(c.binary, L.addCachedText(B.name, B.file) + L.espruinoSketch(scenario), d.dir, 240));
          } finally {
            d.cleanup();
          }
        }
        assert.ok(o.ok, describeFailure(o));
        assert.equal(o.first, "rt/" + scenario.clientId + "/a m0", "the first message came back whole");
        if (reader) {
          assert.match(o.run.out, /^BIG sent/m, "the sketch saw its 16 KB reading out");
          // The sketch ended after its last write: the broker may still be passing it on.
          const got = await reader.first(60000);
          assert.equal(got.length, big, "the whole 16 KB reading arrived");
          for (let i = 0; i < got.length; i++) if (got[i] !== (i & 255)) assert.fail("the 16 KB reading is corrupt at byte " + i);
        }
      } finally {
        if (reader) await reader.close();
      }
    });
  }

  for (const b of ["full", "qos0"] as const) {
    const B = L.KALUMA_BUNDLES[b];
    it("Kaluma 1.2.1 (Pico W heap): " + B.file.slice(L.ROOT.length + 1), async (t) => {
      if (!needRuntimes(t)) return;
      const run = await L.runKaluma(L.kalumaProgram({ port: broker!.port, clientId: id("kal"), qos: B.qos, messages: MESSAGES, bigPayload: BIG }), { bundle: B.file, seconds: 120 });
      const o = L.parseKaluma(run);
      assert.ok(o.ok, describeFailure(o));
      assert.ok(o.heap.subscribed && o.heap.messages, "connected, subscribed and got its messages back");
      // A 16 KB QoS 0 reading at default options: out in slices, back in one buffer, intact.
      assert.match(o.big, /^ok 16384/, "the 16 KB payload went round: " + o.big);
    });
  }
});
