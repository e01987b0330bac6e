/**
 * The Espruino examples, unmodified, on the real interpreter as an ESP8266 (espruino-1700): the
 * bundle in Storage under the name the example requires, the example sent as a sketch with a
 * `CONFIG` pointing it at mosquitto on 127.0.0.1. It announces itself online, publishes its
 * telemetry, and its will fires when the link is cut (the interpreter is killed: no DISCONNECT).
 *
 * The Linux build has no Wi-Fi: a stand-in `Wifi` module (added with `Modules.addCached`, as the
 * IDE adds modules) joins at once, which is all the examples ask of it.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt from "mqtt";
import * as L from "../../bench/real-lib.ts";
import { startMosquitto, waitFor, type RunningMosquitto } from "../helpers/brokers.ts";
import { killTree, needRuntimes, runtimesWhyNot } from "./support.ts";

const WIFI_STANDIN = `Modules.addCached("Wifi", function () {
  exports.connect = function (ssid, options, callback) { setTimeout(function () { callback(null); }, 10); };
});
`;

let broker: RunningMosquitto | null = null;
before(async () => {
  if (!runtimesWhyNot()) broker = await startMosquitto();
});
after(async () => {
  if (broker) await broker.close();
});

const EXAMPLES = [
  { file: "boards/espruino/example.js", storageName: "mcu-mqtt", bundle: L.ESPRUINO_BUNDLES.full.file, qos: 1 },
  { file: "boards/espruino/example-qos0.js", storageName: "mcu-mqtt-qos0", bundle: L.ESPRUINO_BUNDLES.qos0.file, qos: 0 },
];

describe("the Espruino examples on the real interpreter (espruino-1700, the bundle from Storage)", () => {
  for (const ex of EXAMPLES) {
    it(ex.file + ": online, telemetry at QoS " + ex.qos + ", then its will when the link is cut", async (t) => {
      if (!needRuntimes(t)) return;
      const clientId = "esp-ex-" + ex.qos + "-" + process.pid;
      const status = "app/" + clientId + "/status";
      const telemetry = "app/" + clientId + "/telemetry";
      const seen: { topic: string; payload: string; qos: number }[] = [];
      const watcher = await mqtt.connectAsync({ host: "127.0.0.1", port: broker!.port, clientId: "esp-watch-" + ex.qos + "-" + process.pid, reconnectPeriod: 0 });
      const d = L.storageDir(await L.storageImage(ex.storageName, ex.bundle));
      let device: ChildProcess | null = null;
      try {
        watcher.on("message", (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), qos: packet.qos }));
        await watcher.subscribeAsync(["app/" + clientId + "/#"], { qos: 1 });

        const config = { host: "127.0.0.1", port: broker!.port, ssid: "bench", password: "none", prefix: "app", clientId, periodS: 0.5, keepaliveS: 30 };
        const sketch = join(d.dir, "sketch.js");
        writeFileSync(sketch, "var CONFIG = " + JSON.stringify(config) + ";\n" + WIFI_STANDIN + readFileSync(join(L.ROOT, ex.file), "utf8"));
        let output = "";
        device = spawn("bash", [L.RUN_SH, "-b", "espruino-1700", "-t", "120", "-C", d.dir, sketch], { cwd: d.dir, stdio: ["ignore", "pipe", "pipe"] });
        device.stdout!.on("data", (b: Buffer) => (output += b.toString("latin1")));
        device.stderr!.on("data", (b: Buffer) => (output += b.toString("latin1")));
        let exited: number | null = null;
        device.on("exit", (code) => (exited = code === null ? -1 : code));
        const detail = () => "output:\n" + output.slice(-1500) + "\nseen: " + JSON.stringify(seen.slice(-5));

        await waitFor(() => seen.some((m) => m.topic === status && m.payload === "online") || exited !== null, 60000, "online", detail);
        assert.equal(exited, null, detail());
        await waitFor(() => seen.filter((m) => m.topic === telemetry).length >= 3 || exited !== null, 60000, "three readings", detail);
        const readings = seen.filter((m) => m.topic === telemetry);
        assert.ok(readings.length >= 3, detail());
        const parsed = readings.map((m) => JSON.parse(m.payload) as { seq: number; tempC: number; source: string });
        assert.deepEqual(parsed.slice(0, 3).map((r) => r.seq), [1, 2, 3], "readings in order, none lost");
        assert.ok(parsed.every((r) => typeof r.tempC === "number" && r.source === "simulated"), "a reading as the example makes it on a chip without a sensor: " + readings[0].payload);
        assert.equal(readings[0].qos, ex.qos, "published at the example's QoS");
        assert.match(output, /connected to 127\.0\.0\.1:/);
        assert.ok(!/Uncaught|OUT OF MEMORY|LOW_MEMORY/.test(output), detail());

        // Cut the link: the interpreter goes, its TCP connection with it, no DISCONNECT.
        killTree(device.pid!);
        await waitFor(() => seen.some((m) => m.topic === status && m.payload === "offline"), 30000, "the will", detail);
      } finally {
        if (device && device.exitCode === null && device.signalCode === null) killTree(device.pid!);
        await watcher.endAsync();
        d.cleanup();
      }
    });
  }
});
