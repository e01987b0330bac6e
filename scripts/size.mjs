#!/usr/bin/env node
// Prints each built bundle's size (minified, and gzipped for reference) against its budget.
// `npm run size` builds first. Over-budget bundles are marked, not hidden; the exit code stays 0
// unless a bundle is missing, because the budget is a goal the table reports honestly.
import { existsSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const root = new URL("..", import.meta.url).pathname;

// Goal for the full Espruino bundle: the size of Espruino's own MQTT module (QoS 0 only).
const ESPRUINO_MQTT_MODULE = 6160;

// The QoS 0-only build is held to the same figure: it is what that module offers.
const BUNDLES = [
  { file: "dist/espruino/mcu-mqtt.js", what: "Espruino, full (ES5)", budget: ESPRUINO_MQTT_MODULE },
  { file: "dist/espruino/mcu-mqtt-qos0.js", what: "Espruino, QoS 0 only (ES5)", budget: ESPRUINO_MQTT_MODULE },
  { file: "dist/kaluma/mcu-mqtt.js", what: "Kaluma, full (ES2019)", budget: null },
  { file: "dist/kaluma/mcu-mqtt-qos0.js", what: "Kaluma, QoS 0 only (ES2019)", budget: null },
  { file: "dist/core/mcu-mqtt-core.es5.js", what: "core, every export (ES5)", budget: null },
  { file: "dist/core/mcu-mqtt-core.es2019.js", what: "core, every export (ES2019)", budget: null },
];

const rows = [];
let missing = 0;
for (const b of BUNDLES) {
  const path = root + b.file;
  if (!existsSync(path)) {
    rows.push([b.file, b.what, "missing", "", b.budget ?? "", ""]);
    missing++;
    continue;
  }
  const text = readFileSync(path);
  const gz = gzipSync(text, { level: 9 }).length;
  const verdict = b.budget === null ? "" : text.length <= b.budget ? "within" : `over by ${text.length - b.budget}`;
  rows.push([b.file, b.what, String(text.length), String(gz), b.budget === null ? "-" : String(b.budget), verdict]);
}
const head = ["bundle", "what", "bytes", "gzip", "budget", ""];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => r.map((c, i) => (i >= 2 && i <= 4 ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join("  ");
console.log(line(head));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
console.log("\nReference: Espruino's MQTT module 6,160 B (QoS 0 only); tinyMQTT 1,418-1,784 B (QoS 0, 127-byte payloads).");
process.exit(missing > 0 ? 1 : 0);
