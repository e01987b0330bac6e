/**
 * Each example runs unmodified against an in-process broker: the Kaluma and Espruino ones inside
 * their simulators (settings from a global CONFIG), the Node one as a child process (settings
 * from MCU_MQTT_CONFIG). Each announces "online" (retained), publishes telemetry at QoS 1, and
 * when its link is cut without a DISCONNECT the broker publishes its will, "offline" (retained).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TestBroker, type BrokerMessage } from "../../sim/broker.ts";
import { ROOT } from "../../sim/context.ts";
import { deviceErrors, makeDevice, type Runtime } from "./helpers.ts";
import { parseAs } from "../engines/engines.ts";

describe("the board examples parse as their runtime does", () => {
  // Espruino parses a subset of ES2015: its examples are kept to ES5 (no let/const, arrows,
  // classes, template literals, destructuring). Kaluma's JerryScript 2.4 takes ES2019.
  for (const file of ["boards/espruino/example.js", "boards/espruino/example-qos0.js"]) {
    it(file + " is ES5", () => parseAs(readFileSync(join(ROOT, file), "utf8"), 5));
  }
  it("boards/kaluma/example.js is ES2019", () => parseAs(readFileSync(join(ROOT, "boards/kaluma/example.js"), "utf8"), 2019));
});

function telemetry(broker: TestBroker, topic: string): { seq: number; tempC: number | null; source?: string; dropped?: number }[] {
  return broker.on(topic).map((m) => JSON.parse(m.payload.toString()));
}

function lastStatus(broker: TestBroker, topic: string): BrokerMessage | undefined {
  const list = broker.on(topic);
  return list[list.length - 1];
}

describe("examples", { concurrency: true }, () => {
  let broker: TestBroker;
  before(async () => {
    broker = await TestBroker.start();
  });
  after(async () => {
    await broker.stop();
  });

  async function simulatedExample(runtime: Runtime, clientId: string, extra: object, temperature: { kaluma?: number; espruino?: number }, example = "example.js", qos = 1) {
    const config = { host: "127.0.0.1", port: broker.port, prefix: "test", clientId, periodS: 0.1, keepaliveS: 5, ssid: "sim-ap", password: "sim-password" };
    const device = makeDevice(runtime, {
      seed: 11,
      globals: { CONFIG: config },
      // The example joins Wi-Fi itself.
      wifi: { joined: false },
      temperatureC: temperature.kaluma,
      temperature: temperature.espruino,
      ...extra,
    });
    const file = join(ROOT, "boards", runtime, example);
    device.run(readFileSync(file, "utf8"), file);
    const status = "test/" + clientId + "/status";
    const tele = "test/" + clientId + "/telemetry";
    try {
      await broker.waitFor(() => broker.on(status).some((m) => m.payload.toString() === "online"), 5000, clientId + " online");
      const online = broker.on(status).find((m) => m.payload.toString() === "online")!;
      if (runtime === "kaluma") assert.equal((device as any).board.gpio[0], true, "the LED (CYW43 GPIO 0) is lit while connected");
      assert.equal(online.retain, true, "online is retained");
      assert.equal(online.clientId, clientId);
      await broker.waitFor(() => broker.on(tele).length >= 3, 5000, clientId + " telemetry");
      for (const m of broker.on(tele)) assert.equal(m.qos, qos, "telemetry at QoS " + qos);
      const readings = telemetry(broker, tele);
      if (qos === 1) {
        // Readings taken before the connection wait in the outbox: every one arrives, once.
        assert.deepEqual(
          readings.slice(0, 3).map((r) => r.seq),
          [1, 2, 3],
        );
      } else {
        // QoS 0 keeps nothing: readings taken before the connection are refused and counted,
        // the rest arrive in order.
        assert.equal(readings[0].dropped, readings[0].seq - 1, "the readings before the connection were counted as dropped");
        assert.deepEqual(
          readings.slice(0, 3).map((r) => r.seq - readings[0].seq),
          [0, 1, 2],
        );
      }
      // Cut the link under the device, with no DISCONNECT: the broker sends the will.
      device.network.cutAll("silent");
      await broker.waitFor(() => lastStatus(broker, status)?.payload.toString() === "offline", 5000, clientId + " will");
      const will = lastStatus(broker, status)!;
      assert.equal(will.retain, true, "the will is retained");
      assert.deepEqual(deviceErrors(device), []);
      return { device, readings };
    } finally {
      device.dispose();
    }
  }

  it("boards/kaluma/example.js on the Kaluma simulator", async () => {
    const { device, readings } = await simulatedExample("kaluma", "pico-test", {}, { kaluma: 31.5 });
    // The internal sensor through ADC input 4 (pin 30), 12-bit: within a few tenths.
    for (const r of readings) assert.ok(r.tempC !== null && Math.abs(r.tempC - 31.5) < 0.6, "temperature " + r.tempC);
    assert.ok(device.logs.some((l) => l.startsWith("connected to")));
    assert.equal((device as any).stats.wifiJoins, 1, "joined Wi-Fi once");
    assert.ok((device as any).stats.maxWriteBytes <= 1024);
  });

  it("boards/espruino/example.js on the Espruino simulator (no sensor: simulated reading)", async () => {
    const { readings } = await simulatedExample("espruino", "esp32-test", {}, {});
    for (const r of readings) assert.equal(r.source, "simulated");
  });

  it("boards/espruino/example.js on the Espruino simulator (a chip reading in range)", async () => {
    const { readings, device } = await simulatedExample("espruino", "esp32-chip", {}, { espruino: 41.25 });
    for (const r of readings) {
      assert.equal(r.source, "chip");
      assert.equal(r.tempC, 41.3);
    }
    assert.equal((device as any).stats.nonStringWrites, 0);
  });

  it("boards/espruino/example-qos0.js (the QoS 0-only build) on the Espruino simulator, as an ESP8266", async () => {
    const { readings, device } = await simulatedExample("espruino", "esp8266-test", { maxChunk: 268 }, {}, "example-qos0.js", 0);
    for (const r of readings) assert.equal(r.source, "simulated");
    assert.match(device.moduleFrom, /mcu-mqtt-qos0\.js|QoS 0 build/);
    assert.equal((device as any).stats.nonStringWrites, 0);
  });

  it("boards/node/example.ts as a process", async () => {
    const clientId = "node-test";
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "boards", "node", "example.ts")], {
      cwd: ROOT,
      env: { ...process.env, MCU_MQTT_CONFIG: JSON.stringify({ port: broker.port, prefix: "test", clientId, periodS: 0.1, keepaliveS: 5 }) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (b) => (output += b));
    child.stderr.on("data", (b) => (output += b));
    const status = "test/" + clientId + "/status";
    const tele = "test/" + clientId + "/telemetry";
    try {
      await broker.waitFor(() => broker.on(status).some((m) => m.payload.toString() === "online"), 15000, "node online");
      await broker.waitFor(() => broker.on(tele).length >= 3, 5000, "node telemetry");
      for (const m of broker.on(tele)) assert.equal(m.qos, 1);
      assert.deepEqual(
        telemetry(broker, tele)
          .slice(0, 3)
          .map((r) => r.seq),
        [1, 2, 3],
      );
      // The process dies without a word: the broker sends the will.
      child.kill("SIGKILL");
      await broker.waitFor(() => lastStatus(broker, status)?.payload.toString() === "offline", 5000, "node will");
      const will = lastStatus(broker, status)!;
      assert.equal(will.retain, true);
    } catch (e) {
      throw new Error((e as Error).message + "\nexample output:\n" + output);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
