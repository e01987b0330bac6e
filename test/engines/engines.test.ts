// The built bundles run outside Node: the ES5 bundle in duktape (ES5.1, no Node APIs), the
// ES2019 bundle in QuickJS. Each runs the same scripted scenario through an in-engine transport.
import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { bundleText, duktapeAvailable, parseAs, runInDuktape, runInQuickJS, type HarnessReport } from "./engines.ts";

const EXPECTED_STEPS = [
  "connected",
  "connect carries will and credentials",
  "subscribed",
  "publishes acknowledged",
  "qos 1 round trip",
  "qos 2 round trip",
  "every byte value survives",
  "16 KB payload survives",
  "qos 0 round trip",
  "each message delivered once",
  "keepalive ping",
  "offline after drop",
  "the drop is reported as an error",
  "reconnected after drop",
  "subscription restored after reconnect",
  "ended",
];

/** True when duktape is installed; otherwise skips the test, or fails it in CI. */
function needDuktape(t: TestContext): boolean {
  if (duktapeAvailable()) return true;
  if (process.env.CI) assert.fail("duktape (duk) is required in CI");
  t.skip("duktape not installed: apt-get install duktape");
  return false;
}

const QOS0_STEPS = [
  "connected",
  "connect carries will and credentials",
  "subscribed",
  "a QoS 1 publish is refused by this build",
  "publishes written",
  "qos 0 round trip",
  "every byte value survives",
  "16 KB payload survives",
  "each message delivered once",
  "keepalive ping",
  "offline after drop",
  "the drop is reported as an error",
  "reconnected after drop",
  "subscription restored after reconnect",
  "ended",
];

function check(report: HarnessReport, steps = EXPECTED_STEPS): void {
  assert.deepEqual(report.errors, []);
  assert.deepEqual(report.steps.map((s) => s.name), steps);
  for (const s of report.steps) assert.ok(s.ok, `step "${s.name}" failed (detail: ${JSON.stringify(s.detail)})`);
}

describe("core bundle, ES5 build", () => {
  const es5 = bundleText("dist/core/mcu-mqtt-core.es5.js");
  test("parses as ES5", () => parseAs(es5, 5));
  test("runs the scenario in duktape", (t) => {
    if (!needDuktape(t)) return;
    check(runInDuktape(es5));
  });
});

describe("core bundle, ES2019 build", () => {
  const es2019 = bundleText("dist/core/mcu-mqtt-core.es2019.js");
  test("parses as ES2019 (no ?. or ??=, which JerryScript 2.4 rejects)", () => parseAs(es2019, 2019));
  test("runs the scenario in QuickJS", async () => {
    check(await runInQuickJS(es2019));
  });
});

describe("Espruino board bundle (dist/espruino/mcu-mqtt.js)", () => {
  const bundle = bundleText("dist/espruino/mcu-mqtt.js");
  test("parses as ES5", () => parseAs(bundle, 5));
  test("runs the scenario in duktape over a faked Espruino net (binary strings, E.toString)", (t) => {
    if (!needDuktape(t)) return;
    check(runInDuktape(bundle, "espruino"));
  });
});

describe("Kaluma board bundle (dist/kaluma/mcu-mqtt.js)", () => {
  const bundle = bundleText("dist/kaluma/mcu-mqtt.js");
  test("parses as ES2019", () => parseAs(bundle, 2019));
  test("runs the scenario in QuickJS over a faked Kaluma net (paced writes, no drain)", async () => {
    check(await runInQuickJS(bundle, "kaluma"));
  });
});

describe("Espruino QoS 0 bundle (dist/espruino/mcu-mqtt-qos0.js)", () => {
  const bundle = bundleText("dist/espruino/mcu-mqtt-qos0.js");
  test("parses as ES5", () => parseAs(bundle, 5));
  test("runs the QoS 0 scenario in duktape over a faked Espruino net", (t) => {
    if (!needDuktape(t)) return;
    check(runInDuktape(bundle, "espruino", "qos0"), QOS0_STEPS);
  });
});

describe("Kaluma QoS 0 bundle (dist/kaluma/mcu-mqtt-qos0.js)", () => {
  const bundle = bundleText("dist/kaluma/mcu-mqtt-qos0.js");
  test("parses as ES2019", () => parseAs(bundle, 2019));
  test("runs the QoS 0 scenario in QuickJS over a faked Kaluma net", async () => {
    check(await runInQuickJS(bundle, "kaluma", "qos0"), QOS0_STEPS);
  });
});

describe("the debug log is compiled out of every bundle", () => {
  for (const file of [
    "dist/espruino/mcu-mqtt.js",
    "dist/espruino/mcu-mqtt-qos0.js",
    "dist/kaluma/mcu-mqtt.js",
    "dist/kaluma/mcu-mqtt-qos0.js",
    "dist/core/mcu-mqtt-core.es5.js",
    "dist/core/mcu-mqtt-core.es2019.js",
  ]) {
    test(file, () => {
      const text = bundleText(file);
      // The event name and the words of its lines exist only behind `if (DEBUG)`.
      assert.doesNotMatch(text, /["']debug["']/);
      assert.doesNotMatch(text, /"sent "|"received "/);
      assert.doesNotMatch(text, /" -> "/);
    });
  }
});
