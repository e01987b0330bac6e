/**
 * The face of Espruino's MQTT module: a sketch written the way espruino.com/MQTT documents it,
 * with only the module name changed, runs on the Espruino simulator against aedes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TestBroker } from "../../sim/broker.ts";
import { createEspruinoSim } from "../../sim/espruino.ts";
import { deviceErrors, until } from "./helpers.ts";

// As in Espruino's documentation, but require("mcu-mqtt") for require("MQTT"), and the broker's
// port from CONFIG. The sketch reconnects on 'disconnected' the way the documentation shows.
const SKETCH = `
var server = "127.0.0.1";
var options = {
  client_id: "compat-1",
  keep_alive: 2,
  port: CONFIG.port,
  clean_session: true,
  protocol_name: "MQTT",
  protocol_level: 4
};
var mqtt = require("mcu-mqtt").create(server, options);
var log = [];
var inbox = [];

mqtt.on("connected", function () {
  log.push("connected");
  mqtt.subscribe("test/espruino");
  mqtt.subscribe({ "test/map/a": 1, "test/map/b": 0 });
});
mqtt.on("subscribed", function () { log.push("subscribed"); });
mqtt.on("publish", function (pub) {
  inbox.push({ topic: pub.topic, message: pub.message, qos: pub.qos, retain: pub.retain, dup: pub.dup });
});
mqtt.on("message", function (topic, message) { log.push("message " + topic); });
mqtt.on("disconnected", function () {
  log.push("disconnected");
  setTimeout(function () { mqtt.connect(); }, 100);
});
mqtt.on("error", function (message) { log.push("error " + typeof message); });

mqtt.connect();
`;

describe("the face of Espruino's MQTT module", () => {
  let broker: TestBroker;
  before(async () => {
    broker = await TestBroker.start();
  });
  after(async () => {
    await broker.stop();
  });

  it("runs a sketch written for require('MQTT'): connect, subscribe, publish, receive, reconnect", async () => {
    const device = createEspruinoSim({ seed: 5, globals: { CONFIG: { port: broker.port } } });
    try {
      device.run(SKETCH, "compat-sketch.js");
      const g = device.global;
      await until(() => broker.subscribed("compat-1", "test/espruino") && broker.subscribed("compat-1", "test/map/a"), "subscriptions");
      await until(() => g.log.filter((l: string) => l === "subscribed").length >= 3, "three subscribed events");

      // Messages arrive as binary strings (one char per byte), as the module gives them.
      await broker.publish("test/espruino", Buffer.from([0x68, 0x69, 0xe9, 0x00, 0xff]), 1);
      await broker.publish("test/map/a", "map", 1, true);
      await until(() => g.inbox.length >= 2, "two messages");
      assert.deepEqual(
        Array.from(g.inbox as any[], (m) => ({ ...m })),
        [
          // Subscribed at the default QoS 0: delivered at 0.
          { topic: "test/espruino", message: "hi\u00e9\u0000\u00ff", qos: 0, retain: 0, dup: 0 },
          { topic: "test/map/a", message: "map", qos: 1, retain: 0, dup: 0 },
        ],
      );
      assert.ok(g.log.includes("message test/espruino"));

      // publish(topic, message, opts): a binary string goes out byte for byte; opts {qos, retain}.
      device.run(`mqtt.publish("test/out", "caf\\u00e9", { qos: 1, retain: true }); mqtt.publish("test/out", 42);`);
      await broker.waitFor(() => broker.on("test/out").length >= 2, 3000, "two publishes");
      // (aedes reports a retained message after storing it: not necessarily in wire order)
      const first = broker.on("test/out").find((m) => m.retain)!;
      const second = broker.on("test/out").find((m) => !m.retain)!;
      assert.deepEqual([...first.payload], [0x63, 0x61, 0x66, 0xe9]);
      assert.equal(first.qos, 1);
      assert.equal(first.retain, true);
      assert.equal(second.payload.toString(), "42");
      assert.equal(second.qos, 0);

      // The link dies: 'disconnected', and the sketch's own connect() brings it back.
      const connectsBefore = broker.connects.filter((c) => c === "compat-1").length;
      device.network.cutAll("reset");
      await until(() => g.log.includes("disconnected"), "disconnected");
      await until(() => broker.connects.filter((c) => c === "compat-1").length > connectsBefore, "a new connection");
      await until(() => g.log.filter((l: string) => l === "connected").length >= 2, "connected again");

      // unsubscribe, then disconnect: no 'disconnected' for a disconnect asked for.
      device.run(`mqtt.unsubscribe("test/espruino"); mqtt.on("unsubscribed", function () { log.push("unsubscribed"); });`);
      await until(() => g.log.includes("unsubscribed"), "unsubscribed");
      const disconnects = g.log.filter((l: string) => l === "disconnected").length;
      device.run(`mqtt.disconnect();`);
      await until(() => broker.aedes.connectedClients === 0, "the broker to see the disconnect");
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(g.log.filter((l: string) => l === "disconnected").length, disconnects);
      assert.equal(g.mqtt.connected, false);
      assert.deepEqual(deviceErrors(device), []);
      assert.equal(device.stats.nonStringWrites, 0);
    } finally {
      device.dispose();
    }
  });

  it("a connection that cannot be made reports 'disconnected' (the sketch's reconnect loop keeps going)", async () => {
    const device = createEspruinoSim({ seed: 6, wifi: { joined: false }, globals: { CONFIG: { port: broker.port } } });
    try {
      device.run(SKETCH.replace('"compat-1"', '"compat-2"'), "compat-sketch.js");
      const g = device.global;
      await until(() => g.log.filter((l: string) => l === "disconnected").length >= 2, "two failed attempts");
      assert.ok(g.log.includes("error string"), "errors are messages (strings), as the module's");
      // Wi-Fi is joined: the sketch's loop connects.
      device.run(`require("Wifi").connect("sim-ap", { password: "sim-password" }, function () {});`);
      await until(() => broker.subscribed("compat-2", "test/espruino"), "connected and subscribed", 5000);
      assert.deepEqual(deviceErrors(device), []);
    } finally {
      device.dispose();
    }
  });
});
