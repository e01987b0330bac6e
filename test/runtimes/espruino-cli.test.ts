/**
 * The Espruino path of the README, end to end with the `espruino` command-line tool: the real
 * interpreter (espruino-1700, an ESP8266's memory) with its console on a loopback TCP port
 * through socat, as a board's serial port; `npm run espruino:upload` (scripts/espruino-upload.mjs)
 * puts dist/espruino/mcu-mqtt.js into Storage as "mcu-mqtt" and uploads a sketch; the sketch
 * connects to mosquitto on 127.0.0.1 and a message goes round. It reports back over MQTT (the CLI
 * has left by then): the message it got, the size of the Storage file, the variables in use.
 *
 * Between the CLI and socat sits a relay that paces the upload at about 5 KB/s, below the rate of a
 * serial line: on a board the UART and XON/XOFF pace it, but the Linux build reads its console
 * without flow control and drops input (or fails an assertion) when a whole upload arrives at once.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import { after, before, it } from "node:test";
import mqtt from "mqtt";
import * as L from "../../bench/real-lib.ts";
import { freePort, startMosquitto, waitFor, type RunningMosquitto } from "../helpers/brokers.ts";
import { childPids, needRuntimes, runtimesWhyNot } from "./support.ts";

const CLI = join(L.ROOT, "node_modules/.bin/espruino");
const SOCAT = ["/usr/bin/socat", "/bin/socat", "/usr/local/bin/socat"].find((p) => existsSync(p)) || "";
const QEMU = ["/usr/bin/qemu-i386-static", "/usr/bin/qemu-i386"].find((p) => existsSync(p)) || "";

function whyNot(): string {
  const base = runtimesWhyNot();
  if (base) return base;
  if (!SOCAT) return "socat not installed (apt-get install socat)";
  if (!existsSync(CLI)) return "the espruino command-line tool is not installed (npm install)";
  return "";
}

let broker: RunningMosquitto | null = null;
before(async () => {
  if (!whyNot()) broker = await startMosquitto();
});
after(async () => {
  if (broker) await broker.close();
});

/** True once something listens on 127.0.0.1:port (read from /proc: a probe would use socat's only accept). */
function listening(port: number): boolean {
  const hex = ":" + port.toString(16).toUpperCase().padStart(4, "0");
  try {
    return readFileSync("/proc/net/tcp", "utf8")
      .split("\n")
      .some((l) => {
        const f = l.trim().split(/\s+/);
        return f[1] !== undefined && f[1].endsWith(hex) && f[3] === "0A";
      });
  } catch {
    return false;
  }
}

/** A TCP relay that forwards what the CLI sends in 32-byte slices every 6 ms (about 5 KB/s). */
function pacedRelay(target: number, consoleOut: (text: string) => void): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((down) => {
    const up = net.connect({ host: "127.0.0.1", port: target });
    sockets.add(down);
    sockets.add(up);
    let queue = Buffer.alloc(0);
    let timer: NodeJS.Timeout | null = null;
    const pump = () => {
      if (queue.length === 0) {
        timer = null;
        return;
      }
      up.write(queue.subarray(0, 32));
      queue = queue.subarray(32);
      timer = setTimeout(pump, 6);
    };
    down.on("data", (d: Buffer) => {
      queue = Buffer.concat([queue, d]);
      if (!timer) pump();
    });
    // When the CLI leaves, the line to the interpreter stays, as a board's serial port stays
    // plugged in: closing it would close the pty and drop input the interpreter has yet to read.
    up.on("data", (d: Buffer) => {
      consoleOut(d.toString("latin1"));
      if (!down.destroyed) down.write(d);
    });
    up.on("close", () => down.destroy());
    down.on("error", () => down.destroy());
    up.on("error", () => down.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close() {
          for (const s of sockets) s.destroy();
          server.close();
        },
      });
    });
  });
}

it("npm run espruino:upload puts mcu-mqtt into Storage with the espruino CLI; the sketch gets its message back", async (t) => {
  const missing = whyNot();
  if (missing) {
    if (process.env.MCU_MQTT_REQUIRE_RUNTIMES === "1") throw new Error(missing + " (MCU_MQTT_REQUIRE_RUNTIMES=1 requires it)");
    t.skip(missing);
    return;
  }
  if (!needRuntimes(t)) return;
  const tmp = L.tempDir("mcu-mqtt-espruino-cli-");
  const id = "cli-" + process.pid;
  const echo = "cli/" + id + "/echo";
  const done = "cli/" + id + "/done";
  const sketch = join(tmp.dir, "sketch.js");
  writeFileSync(
    sketch,
    [
      // The CLI (as the IDE) sends a sketch a line at a time and the interpreter runs each
      // statement as it arrives, events in between: listeners set in later statements than
      // connect() could miss the CONNACK. One function, called at the end, runs it all at once.
      'var mqtt = require("mcu-mqtt");',
      "function onInit() {",
      "  var c = mqtt.connect({ host: '127.0.0.1', port: " + broker!.port + ", clientId: '" + id + "', keepalive: 30 });",
      "  c.on('error', function (e) { print('mqtt error ' + (e && e.message ? e.message : e)); });",
      "  c.on('message', function (t, p) {",
      "    var f = require('Storage').read('mcu-mqtt');",
      "    var m = process.memory();",
      "    c.publish('" + done + "', 'got ' + E.toString(p) + '; Storage mcu-mqtt ' + (f ? f.length : 0) + ' bytes; vars ' + m.usage + '/' + m.total, { qos: 0 });",
      "  });",
      "  c.on('connect', function () {",
      "    c.subscribe('" + echo + "', { qos: 0 }, function (err) { if (!err) c.publish('" + echo + "', 'hello from Storage', { qos: 0 }); });",
      "  });",
      "}",
      "onInit();",
      "",
    ].join("\n"),
  );

  const watcher = await mqtt.connectAsync({ host: "127.0.0.1", port: broker!.port, clientId: "cli-watch-" + process.pid, reconnectPeriod: 0 });
  const got: string[] = [];
  watcher.on("message", (_topic, payload) => got.push(payload.toString()));
  await watcher.subscribeAsync(done, { qos: 0 });

  const consolePort = await freePort();
  const exec = (QEMU ? QEMU + " " : "") + join(L.ESPRUINO_DIR, "bin/espruino-1700");
  let socat: ChildProcess | null = null;
  let relay: { port: number; close(): void } | null = null;
  const interpreters = new Set<number>();
  let log = "";
  try {
    // The board: the interpreter's console on 127.0.0.1:consolePort, Storage in tmp (socat's cwd).
    socat = spawn(SOCAT, ["-b64", "TCP-LISTEN:" + consolePort + ",bind=127.0.0.1,reuseaddr", "EXEC:" + exec + ",pty,stderr,setsid"], { cwd: tmp.dir, stdio: ["ignore", "ignore", "pipe"] });
    socat.stderr!.on("data", (d: Buffer) => (log += d.toString()));
    await waitFor(() => listening(consolePort), 10000, "socat to listen");
    let consoleText = "";
    relay = await pacedRelay(consolePort, (text) => (consoleText = (consoleText + text).slice(-3000)));
    const socatPid = socat.pid!;
    // The interpreter outlives socat once the CLI leaves: note its pid while socat is its parent.
    const noteChildren = setInterval(() => childPids(socatPid).forEach((p) => interpreters.add(p)), 20);

    // The README's command.
    const upload = await new Promise<{ code: number; out: string }>((resolve) => {
      const child = spawn("npm", ["run", "--silent", "espruino:upload", "--", "-p", "tcp://127.0.0.1:" + relay!.port, sketch], { cwd: L.ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
      const limit = setTimeout(() => child.kill("SIGKILL"), 180000);
      child.on("close", (code) => {
        clearTimeout(limit);
        resolve({ code: code === null ? -1 : code, out });
      });
    });
    clearInterval(noteChildren);
    log += upload.out;
    assert.equal(upload.code, 0, upload.out);
    assert.match(upload.out, /--storage mcu-mqtt:\S*dist\/espruino\/mcu-mqtt\.js/);
    assert.match(upload.out, /Upload Complete/);
    assert.ok(interpreters.size > 0, "saw the interpreter");

    await waitFor(() => got.length > 0, 180000, "the sketch's report", () => "the interpreter's console:\n" + consoleText + "\nthe broker's log:\n" + broker!.log().slice(-3000));
    const size = readFileSync(L.ESPRUINO_BUNDLES.full.file).length;
    assert.match(got[0], new RegExp("^got hello from Storage; Storage mcu-mqtt " + size + " bytes; vars \\d+/1700$"));
  } finally {
    await watcher.endAsync();
    if (relay) relay.close();
    if (socat) for (const p of childPids(socat.pid!)) interpreters.add(p);
    for (const p of interpreters) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // gone
      }
    }
    if (socat && socat.exitCode === null && socat.signalCode === null) socat.kill("SIGKILL");
    tmp.cleanup();
  }
});
