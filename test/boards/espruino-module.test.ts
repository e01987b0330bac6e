/**
 * The Espruino bundles loaded the way the Espruino IDE and CLI send a module: the file's text
 * inside `Modules.addCached(name, function () { ... })`, then `require(name)` in the sketch. Each
 * then connects, subscribes and gets its own message back through an in-process broker.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TestBroker } from "../../sim/broker.ts";
import { bundleText } from "../engines/engines.ts";
import { deviceErrors, makeDevice, until } from "./helpers.ts";

describe("Espruino bundles as IDE-cached modules", { concurrency: true }, () => {
  for (const [name, file, qos] of [
    ["mcu-mqtt", "dist/espruino/mcu-mqtt.js", 1],
    ["mcu-mqtt-qos0", "dist/espruino/mcu-mqtt-qos0.js", 0],
  ] as const) {
    it(file + " registered as " + name, async () => {
      const text = bundleText(file);
      const broker = await TestBroker.start();
      const device = makeDevice("espruino", { seed: 3 });
      try {
        const topic = "cached/" + name;
        // As the IDE uploads it, then a sketch that uses it.
        device.run("Modules.addCached(" + JSON.stringify(name) + ", function () {\n" + text + "\n});", name + ".js");
        device.run(
          "var mq = require(" + JSON.stringify(name) + ");\n" +
            "var got = [];\n" +
            "var client = mq.connect({ host: '127.0.0.1', port: " + broker.port + ", clientId: 'cached-" + qos + "', keepalive: 5 });\n" +
            "client.on('message', function (t, p) { got.push(t + ' ' + E.toString(p)); });\n" +
            "client.on('connect', function () {\n" +
            "  client.subscribe(" + JSON.stringify(topic) + (qos ? ", { qos: 1 }" : "") + ", function (err) {\n" +
            "    if (!err) client.publish(" + JSON.stringify(topic) + ", 'from the cache'" + (qos ? ", { qos: 1 }" : "") + ");\n" +
            "  });\n" +
            "});\n",
          "sketch.js",
        );
        await until(() => device.realm<string[]>("got").length === 1, "the message back", 5000);
        assert.deepEqual(Array.from(device.realm<string[]>("got")), [topic + " from the cache"]);
        assert.equal(broker.on(topic)[0].qos, qos);
        assert.equal(device.moduleFrom, "", "mcu-mqtt came from Modules.addCached, not the simulator's loader");
        assert.deepEqual(deviceErrors(device), []);
        device.realm("client.end()");
      } finally {
        device.dispose();
        await broker.stop();
      }
    });
  }
});
