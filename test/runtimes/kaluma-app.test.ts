/**
 * The Pico W path end to end on the real Kaluma 1.2.1 runtime: scripts/kaluma-app.mjs turns
 * boards/kaluma/example.js (unmodified) into the one script `kaluma write` sends, and that very
 * script runs through kaluma-bridge.mjs against mosquitto on 127.0.0.1: it says "online",
 * publishes its telemetry, and its will ("offline") fires when the link is cut (the bridge is
 * stopped, which closes its TCP connection without a DISCONNECT, as a board that loses power).
 *
 * Ahead of the script, the test gives what only a board or the user supplies: CONFIG (the
 * example's settings: broker, client id, a short period) and a stand-in for the `pico_cyw43`
 * module (the on-board LED), which the Linux build of Kaluma lacks. The bridge stands in for
 * `wifi` (the Linux build has none either; `--wifi-stub`, because the bundled script calls it
 * through esbuild's require shim, where the bridge does not spot it). `analogRead` of the
 * temperature sensor is absent there too: the example's own try/catch publishes `tempC: null`.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, it } from "node:test";
import mqtt from "mqtt";
import * as L from "../../bench/real-lib.ts";
import { startMosquitto, waitFor, type RunningMosquitto } from "../helpers/brokers.ts";
import { needRuntimes, runtimesWhyNot } from "./support.ts";

let broker: RunningMosquitto | null = null;
before(async () => {
  if (!runtimesWhyNot()) broker = await startMosquitto();
});
after(async () => {
  if (broker) await broker.close();
});

const BOARD_STANDINS = `
;(function () {
  var kalumaRequire = global.require;
  global.require = function (id) {
    if (id === 'pico_cyw43' && process.builtin_modules.indexOf('pico_cyw43') < 0) {
      // The Linux build has no CYW43 driver: the LED on its GPIO 0 is recorded, not lit.
      var PicoCYW43 = function () { this.gpio = {}; };
      PicoCYW43.prototype.putGpio = function (pin, value) { this.gpio[pin] = value; };
      PicoCYW43.prototype.getGpio = function (pin) { return !!this.gpio[pin]; };
      return { PicoCYW43: PicoCYW43 };
    }
    return kalumaRequire(id);
  };
})();
`;

it("boards/kaluma/example.js bundled by scripts/kaluma-app.mjs runs on Kaluma 1.2.1: telemetry, then its will when the link is cut", async (t) => {
  if (!needRuntimes(t)) return;
  const tmp = L.tempDir("mcu-mqtt-pico-app-");
  const out = join(tmp.dir, "app.js");
  const watcher = await mqtt.connectAsync({ host: "127.0.0.1", port: broker!.port, clientId: "pico-watch-" + process.pid, reconnectPeriod: 0 });
  let bridge: ReturnType<typeof spawn> | null = null;
  try {
    // 1. The app, as the README says: node scripts/kaluma-app.mjs <app> <out>.
    const made = spawnSync(process.execPath, [join(L.ROOT, "scripts/kaluma-app.mjs"), join(L.ROOT, "boards/kaluma/example.js"), out], { cwd: L.ROOT, encoding: "utf8" });
    assert.equal(made.status, 0, made.stderr);
    assert.match(made.stdout, /kaluma write/);
    const app = readFileSync(out, "utf8");
    assert.ok(!/require\(["']mcu-mqtt["']\)/.test(app), "mcu-mqtt is inlined");

    const clientId = "pico-" + process.pid;
    const status = "app/" + clientId + "/status";
    const telemetry = "app/" + clientId + "/telemetry";
    const seen: { topic: string; payload: string }[] = [];
    watcher.on("message", (topic, payload) => seen.push({ topic, payload: payload.toString() }));
    await watcher.subscribeAsync(["app/" + clientId + "/#"], { qos: 1 });

    const config = { host: "127.0.0.1", port: broker!.port, ssid: "bridge", password: "none", prefix: "app", clientId, periodS: 0.3, keepaliveS: 30 };
    const program = join(tmp.dir, "program.js");
    writeFileSync(program, "var CONFIG = " + JSON.stringify(config) + ";\n" + BOARD_STANDINS + app);

    // 2. That script on Kaluma, through the bridge.
    let output = "";
    bridge = spawn(process.execPath, [L.BRIDGE, "--program", program, "--wifi-stub", "--timeout", "60"], { stdio: ["ignore", "pipe", "pipe"] });
    bridge.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    bridge.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    let exited: number | null = null;
    bridge.on("exit", (code) => (exited = code === null ? -1 : code));
    const detail = () => "output:\n" + output.slice(-1500) + "\nseen: " + JSON.stringify(seen.slice(-5));

    await waitFor(() => seen.some((m) => m.topic === status && m.payload === "online") || exited !== null, 30000, "online", detail);
    assert.equal(exited, null, detail());
    await waitFor(() => seen.filter((m) => m.topic === telemetry).length >= 3 || exited !== null, 30000, "three readings", detail);
    const readings = seen.filter((m) => m.topic === telemetry).map((m) => JSON.parse(m.payload) as { seq: number; tempC: number | null });
    assert.ok(readings.length >= 3, detail());
    assert.deepEqual(readings.slice(0, 3).map((r) => r.seq), [1, 2, 3]);
    assert.match(output, /connected to 127\.0\.0\.1:/);

    // 3. Cut the link: stop the bridge (its TCP connection to the broker closes, no DISCONNECT).
    bridge.kill("SIGTERM");
    await waitFor(() => seen.some((m) => m.topic === status && m.payload === "offline"), 15000, "the will", detail);
    await waitFor(() => exited !== null, 10000, "the bridge to stop", detail);
  } finally {
    if (bridge && bridge.exitCode === null && bridge.signalCode === null) bridge.kill("SIGKILL");
    await watcher.endAsync();
    tmp.cleanup();
  }
});
