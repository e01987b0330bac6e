/**
 * Runs a script (an example, a sketch) on a simulated board against an in-process broker on
 * 127.0.0.1, printing what the device prints and what the broker receives.
 *
 *   node --import tsx sim/run.ts kaluma boards/kaluma/example.js
 *   node --import tsx sim/run.ts espruino boards/espruino/example.js --faults '{"chunkMax":1}' --seed 7
 *   node --import tsx sim/run.ts kaluma my.js --config '{"periodS":1}' --seconds 30
 *
 * The script gets a global CONFIG with the broker's host and port and the simulated access point
 * (ssid "sim-ap", password "sim-password"), merged with --config. Ctrl-C stops it.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { TestBroker } from "./broker.ts";
import { createEspruinoSim } from "./espruino.ts";
import { createKalumaSim } from "./kaluma.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seed: { type: "string", default: "1" },
    faults: { type: "string", default: "{}" },
    config: { type: "string", default: "{}" },
    seconds: { type: "string" },
    module: { type: "string", default: "auto" },
  },
});

const [runtime, file] = positionals;
if ((runtime !== "kaluma" && runtime !== "espruino") || !file) {
  console.error("usage: node --import tsx sim/run.ts <kaluma|espruino> <script.js> [--seed N] [--faults JSON] [--config JSON] [--seconds N] [--module auto|bundle|source]");
  process.exit(2);
}

const broker = await TestBroker.start();
const config = Object.assign({ host: "127.0.0.1", port: broker.port, ssid: "sim-ap", password: "sim-password" }, JSON.parse(values.config!));
const options = {
  seed: Number(values.seed),
  faults: JSON.parse(values.faults!),
  module: values.module as "auto" | "bundle" | "source",
  globals: { CONFIG: config },
  wifi: { joined: false },
  log: (line: string) => console.log("[" + runtime + "] " + line),
};
const device = runtime === "kaluma" ? createKalumaSim(options) : createEspruinoSim(options);

let seen = 0;
const report = setInterval(() => {
  for (; seen < broker.messages.length; seen++) {
    const m = broker.messages[seen];
    console.log("[broker] " + m.topic + " q" + m.qos + (m.retain ? " retained" : "") + ": " + m.payload.toString());
  }
}, 100);

const path = resolve(file);
device.run(readFileSync(path, "utf8"), path);
console.log("[sim] " + runtime + " running " + file + " with mcu-mqtt from " + (device.moduleFrom || "(not loaded)") + ", broker on 127.0.0.1:" + broker.port);

async function stop(): Promise<void> {
  clearInterval(report);
  device.dispose();
  await broker.stop();
  if (device.errors.length > 0) {
    console.log("[sim] " + device.errors.length + " uncaught error(s) on the device");
    process.exitCode = 1;
  }
}

process.once("SIGINT", () => void stop());
if (values.seconds) setTimeout(() => void stop(), Number(values.seconds) * 1000);
