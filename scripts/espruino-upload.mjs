#!/usr/bin/env node
// Puts mcu-mqtt into an Espruino board's Storage and uploads a sketch, with the `espruino`
// command-line tool (npm package `espruino`):
//
//   espruino --storage mcu-mqtt:<bundle> <sketch> [--board BOARD] -p PORT
//
// The bundle is found in ./node_modules/mcu-mqtt (a project that installed mcu-mqtt) or in this
// package's own dist/. From Storage, require("mcu-mqtt") keeps the module's function code in
// flash on boards with memory-mapped flash (ESP8266, ESP32, STM32): far fewer variables than the
// same module sent as text.
//
//   node scripts/espruino-upload.mjs [--qos0] [--board BOARD] -p PORT sketch.js [-- more espruino args]
//
//   --qos0         the QoS 0-only build (smallest), still stored as "mcu-mqtt"
//   --name NAME    Storage name (default mcu-mqtt: what the sketch requires)
//   --board BOARD  passed on (e.g. ESP8266_4MB, ESPRUINOWIFI, PICO_R1_3, ESP32)
//   -p PORT        passed on: /dev/ttyUSB0, tcp://host:port, a Bluetooth address...
//   --bluetooth    let the espruino tool start Bluetooth (off by default: it needs D-Bus)
//   --dry-run      print the command only
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
let qos0 = false;
let name = "mcu-mqtt";
let board = "";
let port = "";
let sketch = "";
let bluetooth = false;
let dryRun = false;
const extra = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === "--") {
    extra.push(...argv.slice(i + 1));
    break;
  } else if (a === "--qos0") qos0 = true;
  else if (a === "--name") name = argv[++i] || "";
  else if (a === "--board") board = argv[++i] || "";
  else if (a === "-p" || a === "--port") port = argv[++i] || "";
  else if (a === "--bluetooth") bluetooth = true;
  else if (a === "--dry-run") dryRun = true;
  else if (a === "-h" || a === "--help") {
    console.log("usage: espruino-upload [--qos0] [--name mcu-mqtt] [--board BOARD] -p PORT sketch.js [-- more espruino args]");
    process.exit(0);
  } else if (!a.startsWith("-") && !sketch) sketch = a;
  else {
    console.error("espruino-upload: unknown argument " + a);
    process.exit(2);
  }
}
if (!sketch || !port) {
  console.error("usage: espruino-upload [--qos0] [--name mcu-mqtt] [--board BOARD] -p PORT sketch.js [-- more espruino args]");
  process.exit(2);
}
if (!existsSync(sketch)) {
  console.error("espruino-upload: no sketch " + sketch);
  process.exit(2);
}

const file = qos0 ? "mcu-mqtt-qos0.js" : "mcu-mqtt.js";
const candidates = [
  join(process.cwd(), "node_modules", "mcu-mqtt", "dist", "espruino", file),
  resolve(here, "..", "dist", "espruino", file),
];
const bundle = candidates.find((p) => existsSync(p));
if (!bundle) {
  console.error("espruino-upload: no " + file + " in " + candidates.join(" or ") + " (npm install mcu-mqtt, or npm run build:bundles here)");
  process.exit(1);
}

// The espruino tool: the project's, then this package's, then npx.
const bins = [join(process.cwd(), "node_modules", ".bin", "espruino"), resolve(here, "..", "node_modules", ".bin", "espruino")];
const bin = bins.find((p) => existsSync(p));
const args = [];
if (!bluetooth) args.push("--config", "BLUETOOTH_LOW_ENERGY=false", "--config", "BLUETOOTH_LOW_ENERGY_DBUS=false");
if (board) args.push("--board", board);
args.push("-p", port, "--storage", name + ":" + bundle, ...extra, sketch);
const cmd = bin ? bin : "npx";
const full = bin ? args : ["--yes", "espruino", ...args];
console.log("> espruino " + args.join(" "));
if (dryRun) process.exit(0);
const r = spawnSync(cmd, full, { stdio: "inherit" });
process.exit(r.status === null ? 1 : r.status);
