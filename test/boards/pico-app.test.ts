/**
 * The one-script app a Pico W runs: scripts/kaluma-app.mjs bundles the Kaluma example with the
 * Kaluma bundle of mcu-mqtt inlined (Kaluma's require() finds only built-in modules). The result
 * parses as ES2019 and runs on the Kaluma simulator with no `mcu-mqtt` module to require.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import * as acorn from "acorn";
import { TestBroker } from "../../sim/broker.ts";
import { ROOT } from "../../sim/context.ts";
import { createKalumaSim } from "../../sim/kaluma.ts";
import { deviceErrors, until } from "./helpers.ts";

let broker: TestBroker;
before(async () => {
  broker = await TestBroker.start();
});
after(async () => {
  await broker.stop();
});

it("bundles the Kaluma example into one ES2019 script that runs without require('mcu-mqtt')", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "pico-app-")), "app.js");
  execFileSync(process.execPath, [join(ROOT, "scripts", "kaluma-app.mjs"), join(ROOT, "boards/kaluma/example.js"), out], { cwd: ROOT });
  const app = readFileSync(out, "utf8");
  acorn.parse(app, { ecmaVersion: 2019, sourceType: "script" });
  assert.ok(!/require\(["']mcu-mqtt["']\)/.test(app), "mcu-mqtt is inlined");

  const device = createKalumaSim({
    seed: 5,
    globals: { CONFIG: { host: "127.0.0.1", port: broker.port, ssid: "sim-ap", password: "sim-password", prefix: "app", clientId: "pico-app", periodS: 0.1 } },
    wifi: { joined: false },
  });
  // A require() that refuses mcu-mqtt proves the app does not need it.
  const builtin = device.global.require;
  device.global.require = (name: string) => {
    if (name === "mcu-mqtt") throw new Error("Module mcu-mqtt not found");
    return builtin(name);
  };
  try {
    device.run(app, out);
    await until(() => broker.on("app/pico-app/status").some((m) => m.payload.toString() === "online"), "online");
    await until(() => broker.on("app/pico-app/telemetry").length >= 2, "telemetry");
    assert.deepEqual(deviceErrors(device), []);
  } finally {
    device.dispose();
  }
});
