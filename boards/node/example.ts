/**
 * A telemetry node on Node, with mcu-mqtt: the same as the Pico W and ESP32 examples.
 *
 * Every `periodS` seconds it publishes a JSON reading on <prefix>/<clientId>/telemetry at QoS 1.
 * When connected it announces "online" (retained) on <prefix>/<clientId>/status; its will,
 * "offline" (retained) on the same topic, is published by the broker when the process vanishes.
 * On Ctrl-C it says "offline" itself and disconnects cleanly (so the broker drops the will).
 *
 *   node --import tsx boards/node/example.ts
 *   MCU_MQTT_CONFIG='{"host":"broker.local","periodS":5}' node --import tsx boards/node/example.ts
 *
 * The temperature is the host's first thermal zone where Linux has one (a Raspberry Pi's SoC),
 * else a simulated reading; the JSON says which.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { connect } from "./index.ts";

interface Settings {
  host: string;
  port: number;
  prefix: string;
  clientId: string;
  periodS: number;
  keepaliveS: number;
}

// Settings: these defaults, then MCU_MQTT_CONFIG (JSON), then a global CONFIG (the tests').
const defaults: Settings = {
  host: "127.0.0.1",
  port: 1883,
  prefix: "sensors",
  clientId: "node-" + hostname(),
  periodS: 10,
  keepaliveS: 30,
};
const fromEnv = process.env.MCU_MQTT_CONFIG ? (JSON.parse(process.env.MCU_MQTT_CONFIG) as Partial<Settings>) : {};
const fromGlobal = ((globalThis as { CONFIG?: Partial<Settings> }).CONFIG || {}) as Partial<Settings>;
const settings: Settings = { ...defaults, ...fromEnv, ...fromGlobal };

const statusTopic = settings.prefix + "/" + settings.clientId + "/status";
const telemetryTopic = settings.prefix + "/" + settings.clientId + "/telemetry";
const startMs = Date.now();

function readTemperature(): { tempC: number; source: string } {
  try {
    const milli = Number(readFileSync("/sys/class/thermal/thermal_zone0/temp", "utf8"));
    if (Number.isFinite(milli)) return { tempC: Math.round(milli / 100) / 10, source: "thermal_zone0" };
  } catch {
    // no thermal zone here
  }
  return { tempC: Math.round((22 + 2 * Math.sin(Date.now() / 600000)) * 10) / 10, source: "simulated" };
}

const client = connect({
  host: settings.host,
  port: settings.port,
  clientId: settings.clientId,
  keepalive: settings.keepaliveS,
  will: { topic: statusTopic, payload: "offline", qos: 1, retain: true },
});

client.on("connect", () => {
  console.log("connected to " + settings.host + ":" + settings.port);
  client.publish(statusTopic, "online", { qos: 1, retain: true });
});
client.on("offline", () => console.log("offline"));
client.on("error", (err: Error) => console.log("mqtt: " + err.message));

let seq = 0;
const ticker = setInterval(() => {
  seq++;
  const t = readTemperature();
  const reading = JSON.stringify({ seq, tempC: t.tempC, source: t.source, uptimeS: Math.floor((Date.now() - startMs) / 1000) });
  client.publish(telemetryTopic, reading, { qos: 1 }, (err) => {
    if (err) console.log("reading " + seq + " not delivered: " + err.message);
  });
}, settings.periodS * 1000);

process.once("SIGINT", () => {
  clearInterval(ticker);
  // Say it ourselves: a clean DISCONNECT makes the broker discard the will.
  client.publish(statusTopic, "offline", { qos: 1, retain: true });
  client.end(() => process.exit(0));
});
