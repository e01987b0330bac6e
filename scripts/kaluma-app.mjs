#!/usr/bin/env node
// Bundles a Kaluma app that does `require("mcu-mqtt")` (or `require("mcu-mqtt/qos0")`, the QoS
// 0-only client) into the one script a Pico W runs:
// Kaluma's require() resolves only built-in modules, so mcu-mqtt (the Kaluma bundle) is inlined
// and the runtime's own modules stay require() calls. Output is ES2019, which JerryScript 2.4
// parses. Then: npx kaluma write <out> --port /dev/ttyACM0
//
//   node scripts/kaluma-app.mjs boards/kaluma/example.js dist/pico-app.js
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { build } from "esbuild";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: node scripts/kaluma-app.mjs <app.js> <out.js>");
  process.exit(2);
}
const root = new URL("..", import.meta.url).pathname;
const lib = resolve(root, "dist/kaluma/mcu-mqtt.js");
const libQos0 = resolve(root, "dist/kaluma/mcu-mqtt-qos0.js");
if (!existsSync(lib)) {
  console.error("dist/kaluma/mcu-mqtt.js is missing: run `npm run build:bundles` first");
  process.exit(1);
}
// Kaluma 1.2 built-in modules: left to the board's require().
const BUILTINS = [
  "events", "gpio", "led", "button", "pwm", "adc", "i2c", "spi", "uart", "graphics", "at", "storage",
  "fs", "vfs_lfs", "vfs_fat", "sdcard", "flash", "rtc", "path", "stream", "net", "http", "url", "wifi",
  "pico_cyw43", "startup", "rp2", "pio", "util", "blockdev",
];
const result = await build({
  entryPoints: [resolve(input)],
  outfile: resolve(output),
  bundle: true,
  format: "iife",
  target: "es2019",
  minify: true,
  external: BUILTINS,
  alias: { "mcu-mqtt/qos0": libQos0, "mcu-mqtt": lib },
  logLevel: "warning",
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs)[0].bytes;
console.log(`${output}: ${bytes} bytes; flash it with: npx kaluma write ${output} --port <serial port>`);
